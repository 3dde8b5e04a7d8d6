"""Numbers from sampled counters (NVML, tegrastats, DeepStream prints) over the analysed
window: means, percentiles, sustained stretches. No judgement here."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics.window import Window
from pipesight.trace import Trace
from pipesight.trace.samples import SECONDS, Series


def window_seconds(trace: Trace, w: Window | None) -> tuple[float | None, float | None]:
    """The analysed window on the samples' time axis, where the two are aligned."""
    s = trace.samples
    if s is None or s.origin_ns is None or w is None:
        return None, None
    return (w.start - s.origin_ns) / 1e9, (w.end - s.origin_ns) / 1e9


def in_window(x: Series, trace: Trace, w: Window | None) -> Series:
    """The part of a series inside the window; the whole series where it cannot be placed on
    the trace's clock (files, DeepStream prints without time)."""
    if x.clock != SECONDS or "origin" in x.meta:
        return x
    t0, t1 = window_seconds(trace, w)
    if t0 is None:
        return x
    return x.between(t0, t1)


@dataclass(frozen=True)
class Stat:
    n: int
    mean: float
    p50: float
    p90: float
    min: float
    max: float
    span_s: float | None  # time the samples cover (None: the series counts prints)

    def as_dict(self) -> dict[str, float | int | None]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def stat(x: Series) -> Stat | None:
    v = x.v[~np.isnan(x.v)]
    if v.size == 0:
        return None
    span = float(x.t.max() - x.t.min()) if x.clock == SECONDS and len(x) > 1 else None
    return Stat(int(v.size), float(v.mean()), float(np.percentile(v, 50)),
                float(np.percentile(v, 90)), float(v.min()), float(v.max()), span)


@dataclass(frozen=True)
class Stretch:
    """The longest run of consecutive samples at or above a level."""

    start: int  # sample index
    length: int  # samples
    share: float  # of the series' samples
    mean: float  # mean value over the run
    seconds: float | None


def longest_at_or_above(x: Series, level: float) -> Stretch | None:
    v = x.v
    if v.size == 0:
        return None
    above = np.nan_to_num(v, nan=-np.inf) >= level
    best_start, best_len, cur_start = 0, 0, None
    for i, a in enumerate([*above.tolist(), False]):
        if a and cur_start is None:
            cur_start = i
        elif not a and cur_start is not None:
            if i - cur_start > best_len:
                best_start, best_len = cur_start, i - cur_start
            cur_start = None
    if best_len == 0:
        return None
    seg = v[best_start:best_start + best_len]
    secs = (float(x.t[best_start + best_len - 1] - x.t[best_start])
            if x.clock == SECONDS and best_len > 1 else None)
    return Stretch(best_start, best_len, best_len / v.size, float(np.nanmean(seg)), secs)


def zero_runs(x: Series, eps: float = 1e-6) -> list[tuple[int, int]]:
    """(start, length) of each run of consecutive zero values."""
    out, start = [], None
    for i, z in enumerate([*(np.abs(x.v) <= eps).tolist(), False]):
        if z and start is None:
            start = i
        elif not z and start is not None:
            out.append((start, i - start))
            start = None
    return out


SOURCE_WHAT = {"nvml": "NVML GPU samples", "nvml-process": "NVML per-process samples",
               "tegrastats": "tegrastats samples", "deepstream-perf": "DeepStream PERF prints",
               "deepstream-latency": "DeepStream latency prints"}


def samples_coverage(trace: Trace) -> list[str]:
    """'seen' lines for the verdict: which sampled counters the input held."""
    s = trace.samples
    if s is None or not len(s):
        return []
    out = []
    for src in s.sources():
        xs = s.find(source=src)
        n = max(len(x) for x in xs)
        devices = sorted({x.device for x in xs})
        out.append(f"{SOURCE_WHAT.get(src, src)}: {len(xs)} series, up to {n} samples"
                   + (f" ({', '.join(devices[:4])}{', ...' if len(devices) > 4 else ''})"
                      if devices and devices != [""] else ""))
    return out


@dataclass(frozen=True)
class Track:
    """One counter track for a timeline (report, trace.json): what renderers need and nothing
    they would have to compute."""

    name: str  # "source/device/name", unique within a trace
    unit: str
    source: str
    device: str
    counter: str
    clock: str  # SECONDS (t_seconds since the origin below) or INDEX (t counts prints)
    t_seconds: np.ndarray
    values: np.ndarray
    origin: str  # what t = 0 is
    origin_ns: int | None  # tracer ns of t = 0; tracer time of sample i = origin_ns + t*1e9


def tracks(trace: Trace) -> list[Track]:
    """Every sampled series of a trace, as counter tracks, in a stable order."""
    s = trace.samples
    if s is None:
        return []
    out = []
    for x in sorted(s.series, key=lambda x: x.key):
        out.append(Track(
            name="/".join(p for p in (x.source, x.device, x.name) if p),
            unit=x.unit, source=x.source, device=x.device, counter=x.name, clock=x.clock,
            t_seconds=x.t, values=x.v,
            # a series on its own time axis (DeepStream prints without time) says so itself
            origin=x.meta.get("origin", s.origin),
            origin_ns=None if "origin" in x.meta else s.origin_ns,
        ))
    return out
