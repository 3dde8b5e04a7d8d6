"""DeepStream's latency prints: NVDS_ENABLE_LATENCY_MEASUREMENT=1 (per-frame latency) and
NVDS_ENABLE_COMPONENT_LATENCY_MEASUREMENT=1 (each component's in/out time per batch).

  ************BATCH-NUM = 8**************
  Comp name = nvv4l2decoder0 in_system_timestamp = 1684240026498.968 out_system_timestamp = ...
              component latency= 18.598877
  Comp name = nvstreammux-stream-muxer source_id = 0 pad_index = 0 frame_num = 8 ...
              component_latency = 116.617920
  Source id = 0 Frame_num = 8 Frame latency = 513.45 (ms)

Both spellings ``latency=`` and ``latency =`` occur (and ``component_latency``), and apps print
their own variants (``Src id=0 Frame_no=8 Frame latency=...``). Timestamps are wall-clock
milliseconds (gettimeofday).

libnvdsgst_meta takes a frame's start time only from a component whose name starts with
"nvv4l2decode" (12 characters compared) or "audiodecoder"; when the decoder was renamed, the
start time stays 0 and the "frame latency" printed is the batch's wall-clock time in ms since
1970 (about 1.7e12). Such values are flagged and kept apart, never reported as a latency.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from pipesight.trace.samples import INDEX, SECONDS, Samples, Series

SOURCE = "deepstream-latency"
# a frame latency above this many ms (11.6 days) is a wall-clock time, not a latency
EPOCH_MS = 1e9

_NUM = r"(-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)"
_BATCH = re.compile(r"BATCH-NUM\s*=\s*(\d+)")
_COMP = re.compile(r"Comp name\s*=\s*(\S+)")
_IN = re.compile(r"in_system_timestamp\s*=\s*" + _NUM)
_OUT = re.compile(r"out_system_timestamp\s*=\s*" + _NUM)
_CLAT = re.compile(r"component[ _]latency\s*=\s*" + _NUM)
_SRC = re.compile(r"source_id\s*=\s*(\d+)")
_FRAME = re.compile(r"(?:Source|Src)[ _]?id\s*=\s*(\d+)\s+Frame_?(?:num|no|number)\s*=\s*(\d+)"
                    r"\s+Frame latency\s*=\s*" + _NUM)


def _ms(text: str) -> float | None:
    """A printed time in ms; None for one beyond a float (digits that overflow to inf)."""
    x = float(text)
    return x if math.isfinite(x) else None


@dataclass
class Component:
    name: str
    t_in: float | None  # ms since 1970
    t_out: float | None
    latency: float | None  # ms, as printed
    source_id: int | None = None


@dataclass
class Batch:
    num: int | None
    components: list[Component] = field(default_factory=list)
    frames: list[tuple[int, int, float]] = field(default_factory=list)  # source, frame, ms


@dataclass
class LatencyLog:
    batches: list[Batch] = field(default_factory=list)
    malformed: int = 0


def looks_like_latency(text: str) -> bool:
    return bool(_FRAME.search(text) or (_COMP.search(text) and _CLAT.search(text)))


def parse(lines: list[str]) -> LatencyLog:
    log = LatencyLog()
    cur: Batch | None = None

    def batch() -> Batch:
        nonlocal cur
        if cur is None:
            cur = Batch(None)
            log.batches.append(cur)
        return cur

    for line in lines:
        m = _BATCH.search(line)
        if m:
            cur = Batch(int(m.group(1)))
            log.batches.append(cur)
            continue
        m = _COMP.search(line)
        if m:
            ti, to, cl = _IN.search(line), _OUT.search(line), _CLAT.search(line)
            if not (ti or to or cl):
                log.malformed += 1
                continue
            sid = _SRC.search(line)
            b = batch()
            if b.frames:  # components after frame lines: a batch without its header
                cur = None
                b = batch()
            b.components.append(Component(
                m.group(1), _ms(ti.group(1)) if ti else None, _ms(to.group(1)) if to else None,
                _ms(cl.group(1)) if cl else None, int(sid.group(1)) if sid else None))
            continue
        m = _FRAME.search(line)
        if m:
            ms = _ms(m.group(3))
            if ms is None:
                log.malformed += 1
            else:
                batch().frames.append((int(m.group(1)), int(m.group(2)), ms))
            continue
        if "Frame latency" in line or "Comp name" in line:
            log.malformed += 1
    return log


def to_samples(log: LatencyLog, what: str) -> Samples:
    s = Samples(origin=f"{what}'s first timed component")
    stamps = [c.t_in for b in log.batches for c in b.components if c.t_in]
    origin = min(stamps) if stamps else None
    comp: dict[str, tuple[list[float], list[float]]] = {}
    wait: dict[str, tuple[list[float], list[float]]] = {}
    span_t: list[float] = []
    span_v: list[float] = []
    frame: dict[int, tuple[list[float], list[float]]] = {}
    invalid: list[float] = []
    order: list[str] = []
    for i, b in enumerate(log.batches):
        when = _batch_time(b, origin, i)
        prev_out: float | None = None
        for c in b.components:
            if c.name not in order:
                order.append(c.name)
            lat = c.latency
            if lat is None and c.t_in is not None and c.t_out is not None:
                lat = c.t_out - c.t_in
            t = (c.t_in - origin) / 1000 if (c.t_in and origin) else when
            if lat is not None:
                comp.setdefault(c.name, ([], []))[0].append(t)
                comp[c.name][1].append(lat)
            if prev_out is not None and c.t_in is not None and c.t_in >= prev_out:
                wait.setdefault(c.name, ([], []))[0].append(t)
                wait[c.name][1].append(c.t_in - prev_out)
            prev_out = c.t_out if c.t_out is not None else prev_out
        ins = [c.t_in for c in b.components if c.t_in]
        outs = [c.t_out for c in b.components if c.t_out]
        if ins and outs and max(outs) >= min(ins):
            span_t.append(when)
            span_v.append(max(outs) - min(ins))
        for src, _, ms in b.frames:
            if ms > EPOCH_MS or ms < 0:
                invalid.append(ms)
                continue
            frame.setdefault(src, ([], []))[0].append(when)
            frame[src][1].append(ms)
    rank = {n: i for i, n in enumerate(order)}
    clock = SECONDS if origin is not None else INDEX
    for name in sorted(comp, key=lambda n: rank.get(n, 1 << 30)):
        t, v = comp[name]
        s.add(Series("component_latency", "ms", SOURCE, name, _a(t), _a(v), clock,
                     {"order": rank.get(name)}))
    for name in sorted(wait, key=lambda n: rank.get(n, 1 << 30)):
        t, v = wait[name]
        s.add(Series("wait_before", "ms", SOURCE, name, _a(t), _a(v), clock,
                     {"order": rank.get(name)}))
    if span_v:
        s.add(Series("batch_span", "ms", SOURCE, "pipeline", _a(span_t), _a(span_v), clock))
    for src in sorted(frame):
        t, v = frame[src]
        s.add(Series("frame_latency", "ms", SOURCE, f"source {src}", _a(t), _a(v), clock))
    decoders = [n for n in order if "dec" in n.lower()]
    s.meta[SOURCE] = {
        "batches": len(log.batches),
        "components": order,
        "frame_latency_prints": sum(len(b.frames) for b in log.batches),
        "frame_latency_invalid": len(invalid),
        "frame_latency_invalid_values_ms": invalid[:5],
        "decoder_components": decoders,
        "origin_epoch_ms": origin,
    }
    if invalid:
        s.notes.append(
            f"{what}: {len(invalid)} frame latency value(s) are wall-clock times "
            f"(e.g. {invalid[0]:.1f} ms since 1970), not latencies: left out")
    if log.malformed:
        s.notes.append(f"{what}: skipped {log.malformed} latency lines that could not be read")
    if origin is None:
        s.origin = f"{what}'s first batch (t counts batches)"
    return s


def _batch_time(b: Batch, origin: float | None, i: int) -> float:
    outs = [c.t_out for c in b.components if c.t_out]
    if outs and origin:
        return (max(outs) - origin) / 1000
    return float(i)


def _a(x: list[float]) -> np.ndarray:
    return np.asarray(x, np.float64)
