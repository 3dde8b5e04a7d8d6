"""Latency statistics from the latency tracer, computed as gst-stats-1.0 computes them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.trace.latency import LatencyRecords, LatencySeries


@dataclass
class LatencyStat:
    key: str  # as gst-stats-1.0 prints it
    name: str  # element name, or "src -> sink"
    count: int
    mean_ns: int  # integer mean, as gst-stats-1.0
    min_ns: int
    max_ns: int
    p50_ns: int
    p99_ns: int
    first_ts: int


def _stats(series: LatencySeries, name_of) -> list[LatencyStat]:
    out = []
    for i, key in enumerate(series.keys):
        sel = series.code == i
        v = series.value[sel]
        if v.shape[0] == 0:
            continue
        out.append(
            LatencyStat(
                key=key,
                name=name_of(key),
                count=int(v.shape[0]),
                mean_ns=int(v.sum(dtype=np.uint64) // np.uint64(v.shape[0])),
                min_ns=int(v.min()),
                max_ns=int(v.max()),
                p50_ns=int(np.percentile(v, 50)),
                p99_ns=int(np.percentile(v, 99)),
                first_ts=int(series.ts[sel].min()),
            )
        )
    # gst-stats-1.0 lists them by the time of their first record
    out.sort(key=lambda s: s.first_ts)
    return out


def _pair_name(key: str) -> str:
    a, _, b = key.partition("|")
    return f"{LatencyRecords.element_name(a)} -> {LatencyRecords.element_name(b)}"


def pipeline_latency(rec: LatencyRecords) -> list[LatencyStat]:
    return _stats(rec.pipeline, _pair_name)


def element_latency(rec: LatencyRecords) -> list[LatencyStat]:
    return _stats(rec.element, LatencyRecords.element_name)
