"""Occupancy of the elements that hand buffers from one streaming thread to another
(queues, multiqueues, aggregators), judged against every limit they have."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics.window import Window
from pipesight.trace import Trace
from pipesight.trace.flow import PUSH

FULL = 0.9  # of a limit
TIMELINE_POINTS = 400


@dataclass
class QueueFill:
    element: int
    name: str
    limits: dict[str, int]  # buffers / bytes / time_ns, non-zero limits only
    mean_level_buffers: float
    max_level_buffers: int
    mean_fill: float | None  # mean over time of the fullest limit's fraction, None: no limit known
    full_fraction: float | None  # share of the window at >= 90% of a limit
    empty_fraction: float  # share of the window with nothing queued
    buffers_in: int
    buffers_out: int
    dropped: int  # in - out - left at the end, where the element may drop (leaky)
    leaky: str | None
    series_t: np.ndarray = field(default_factory=lambda: np.zeros(0))
    series_level: np.ndarray = field(default_factory=lambda: np.zeros(0))


def handover_elements(trace: Trace) -> list[int]:
    """Elements whose incoming buffers arrive on other threads than the ones they leave on."""
    fl = trace.flow
    out = []
    push = fl.mode == 0
    for e in np.unique(fl.dst_element[(fl.dst_element >= 0) & push]).tolist():
        tin = set(np.unique(fl.thread[push & (fl.dst_element == e)]).tolist())
        tout = set(np.unique(fl.thread[push & (fl.src_element == e)]).tolist())
        if tin and tout and not (tin & tout):
            out.append(int(e))
    return out


def _limits(props: dict) -> dict[str, int]:
    lim = {}
    for key, name in (("max-size-buffers", "buffers"), ("max-size-bytes", "bytes"),
                      ("max-size-time", "time_ns")):
        v = props.get(key)
        if isinstance(v, int) and v > 0:
            lim[name] = v
    return lim


def _from_unknown_start(net: np.ndarray) -> np.ndarray:
    """Levels from the net count in minus out. A trace that starts while the queue already
    holds buffers (a watch interval, a tracer attached mid-stream) sees more leave than came
    in: the queue held at least as many as the deepest such deficit, so the level starts
    there (the least it can have been) instead of at an empty queue."""
    return net - min(int(net.min(initial=0)), 0)


def queue_fill(trace: Trace, w: Window, eid: int) -> QueueFill:
    fl = trace.flow
    e = trace.topology.element(eid)
    props = e.props if e else {}
    push = fl.mode == 0
    into = push & (fl.dst_element == eid)
    outof = push & (fl.src_element == eid)
    idx = np.flatnonzero(into | outof)
    at = arrivals(trace, eid, into)
    order = idx[np.argsort(at[idx], kind="stable")]
    sign = np.where(into[order], 1, -1)
    ts = at[order]
    cnt = fl.count[order]
    level = _from_unknown_start(np.cumsum(sign * cnt))
    blevel = _from_unknown_start(np.cumsum(sign * fl.size[order]))
    lim_buffers = props.get("max-size-buffers")
    leaky_mode = props.get("leaky")
    dropped_at = np.zeros(level.shape[0], np.int64)
    if leaky_mode not in (None, "no", 0, "0") and isinstance(lim_buffers, int) and lim_buffers > 0:
        # a leaky queue never holds more than its limit: what came in beyond it was dropped
        dropped_at = np.maximum.accumulate(np.maximum(level - lim_buffers, 0))
        level = level - dropped_at
    # time level: newest pts in minus newest pts out (as a queue measures it)
    pts = fl.pts[order]
    last_in = _ffill(np.where(into[order] & (pts >= 0), pts, -1))
    last_out = _ffill(np.where(outof[order] & (pts >= 0), pts, -1))
    tlevel = np.where((last_in >= 0) & (last_out >= 0), np.maximum(last_in - last_out, 0), 0)

    lim = _limits(props)
    if dropped_at.shape[0] and dropped_at[-1] > 0:
        # bytes and time levels cannot be followed through drops: judge by buffers alone
        lim = {k: v for k, v in lim.items() if k == "buffers"}
    fill = np.zeros(level.shape[0], float)
    if "buffers" in lim:
        fill = np.maximum(fill, level / lim["buffers"])
    if "bytes" in lim:
        fill = np.maximum(fill, blevel / lim["bytes"])
    if "time_ns" in lim:
        fill = np.maximum(fill, tlevel / lim["time_ns"])
    # a queue takes a buffer while it is under its limits, so the last one in can carry its
    # bytes or time past a limit: at or past one, it is full, not fuller
    fill = np.minimum(fill, 1.0)

    # time-weighted over the window
    dur = _durations(ts, w)
    span = max(w.end - w.start, 1)
    inside = dur > 0
    mean_level = float((level * dur).sum() / span) if inside.any() else 0.0
    empty = float(dur[level == 0].sum() / span) if inside.any() else 1.0
    mean_fill = float((fill * dur).sum() / span) if lim else None
    full_frac = float(dur[fill >= FULL].sum() / span) if lim else None
    n_in = int(fl.count[into].sum())
    n_out = int(fl.count[outof].sum())
    leaky = props.get("leaky")
    leaky = None if leaky in (None, "no", 0, "0") else str(leaky)
    dropped = int(dropped_at[-1]) if leaky and dropped_at.shape[0] else 0
    st, sl = _downsample(ts, level, w)
    return QueueFill(
        element=eid,
        name=trace.topology.name(eid),
        limits=lim,
        mean_level_buffers=mean_level,
        max_level_buffers=int(level[w.contains(ts)].max(initial=0)),
        mean_fill=mean_fill,
        full_fraction=full_frac,
        empty_fraction=empty,
        buffers_in=n_in,
        buffers_out=n_out,
        dropped=dropped,
        leaky=leaky,
        series_t=st,
        series_level=sl,
    )


def arrivals(trace: Trace, eid: int, into: np.ndarray) -> np.ndarray:
    """When each buffer was in the queue: the flow's times, except for pushes into it that
    blocked (it was full) where the buffer went in as the push returned. A push is recorded
    as it starts, so a blocked producer would otherwise count its buffer as queued while it
    waited for room."""
    fl, fr = trace.flow, trace.frames
    at = fl.ts.copy()
    if fr is None or len(fr) == 0 or not into.any():
        return at
    mine = np.flatnonzero((fr.element == eid) & (fr.mode == PUSH) & (fr.blocked > 0))
    if mine.shape[0] == 0:
        return at
    # a frame and the flow row of one push share their thread and start time
    key_fr = fr.thread[mine].astype(np.int64) << 48 ^ fr.start[mine]
    order = np.argsort(key_fr)
    key_fr, ends = key_fr[order], fr.end[mine][order]
    rows = np.flatnonzero(into)
    key_fl = fl.thread[rows].astype(np.int64) << 48 ^ fl.ts[rows]
    pos = np.minimum(np.searchsorted(key_fr, key_fl), key_fr.shape[0] - 1)
    hit = key_fr[pos] == key_fl
    at[rows[hit]] = ends[pos[hit]]
    return at


def _ffill(a: np.ndarray) -> np.ndarray:
    """Carry the last value >= 0 forward (-1 until the first one)."""
    idx = np.maximum.accumulate(np.where(a >= 0, np.arange(a.shape[0]), -1))
    return np.where(idx >= 0, a[np.maximum(idx, 0)], -1)


def _durations(ts: np.ndarray, w: Window) -> np.ndarray:
    """How long each level lasted inside the window."""
    if ts.shape[0] == 0:
        return np.zeros(0, np.int64)
    nxt = np.append(ts[1:], w.end)
    a = np.clip(ts, w.start, w.end)
    b = np.clip(nxt, w.start, w.end)
    return np.maximum(b - a, 0)


def _downsample(ts: np.ndarray, level: np.ndarray, w: Window) -> tuple[np.ndarray, np.ndarray]:
    sel = w.contains(ts)
    ts, level = ts[sel], level[sel]
    if ts.shape[0] <= TIMELINE_POINTS:
        return (ts - w.start) / 1e9, level.astype(float)
    edges = np.linspace(w.start, w.end, TIMELINE_POINTS + 1)
    b = np.clip(np.searchsorted(edges, ts, side="right") - 1, 0, TIMELINE_POINTS - 1)
    peak = np.zeros(TIMELINE_POINTS)
    np.maximum.at(peak, b, level)
    return (edges[:-1] - w.start) / 1e9, peak
