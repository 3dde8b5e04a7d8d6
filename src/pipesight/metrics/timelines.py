"""Series over the window for reports and timelines: frames per second at the sinks, queue
levels, how busy each streaming thread was with each element, and (where the trace has them)
how busy each GPU was and what the samplers (NVML, tegrastats) read. Downsampled to a few
hundred points, so that an hour-long run draws as fast as a second-long one.

Times are nanoseconds on the tracer clock (bin edges or sample times): the GPU timeline is put
there through ``Trace.gpu_clock``, sampled counters through ``Samples.origin_ns``. Busy time
follows the same accounting as metrics.activity (a queue's idle calls are waiting, everything
else works). A sampled utilisation is the sampler's average over a trailing period, and its
series says so rather than pretend to millisecond alignment.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.activity import waiting_ns
from pipesight.metrics.samples import tracks
from pipesight.metrics.throughput import timeline as fps_timeline
from pipesight.metrics.window import Window
from pipesight.trace.gpu import GRAPH, OP_KINDS
from pipesight.trace.samples import SECONDS

MAX_BINS = 400
MIN_BINS = 10
FRAMES_PER_BIN = 10  # aim: enough frames in a bin for its rate to mean something
BUSY_BIN_NS = 10_000_000  # busy timelines: no finer than 10 ms


@dataclass
class Series:
    label: str
    ts: np.ndarray  # ns, tracer clock
    value: np.ndarray
    unit: str
    limit: float | None = None  # a reference line (a queue's max-size-buffers)


@dataclass
class ThreadBusy:
    thread: int
    edges: np.ndarray  # ns, tracer clock, bins + 1
    layers: list[tuple[int, np.ndarray]] = field(default_factory=list)  # element, busy share
    other: np.ndarray | None = None  # the remaining elements together

    @property
    def total(self) -> np.ndarray:
        tot = np.zeros(self.edges.shape[0] - 1)
        for _, v in self.layers:
            tot += v
        return tot + (self.other if self.other is not None else 0.0)


@dataclass
class GpuSlices:
    """What ran on one GPU stream, on the tracer clock (for the trace.json timeline)."""

    device: int
    stream: int
    start: np.ndarray
    end: np.ndarray
    name: np.ndarray  # index into names
    names: list[str]


@dataclass
class ThreadSlices:
    """What one streaming thread did, slice by slice, in start order (outer calls before the
    calls they made): an element's handling of a push or pull, or the thread's owner between
    top-level calls; a hand-over element's slice where it only waited is marked waiting."""

    thread: int
    start: np.ndarray  # ns, tracer clock
    end: np.ndarray
    element: np.ndarray  # int64
    waiting: np.ndarray  # bool
    between: np.ndarray  # bool: between top-level calls (the owner's loop), not a call
    self_ns: np.ndarray  # int64: what the slice itself accounts for (nested calls excluded)
    cpu_ns: np.ndarray  # int64
    buffers: np.ndarray  # int32
    busy_rank: int  # 0 for the busiest thread


@dataclass
class Timelines:
    throughput: list[Series]
    queues: list[Series]
    busy: list[ThreadBusy]
    slices: list[ThreadSlices] = field(default_factory=list)
    gpu: list[Series] = field(default_factory=list)  # busy share per device, per bin
    gpu_ops: list[GpuSlices] = field(default_factory=list)
    sampled: list[Series] = field(default_factory=list)  # NVML, tegrastats, ...


MAX_GPU_OPS = 500_000  # more than this are drawn as busy shares only (the file stays small)


def compute(trace, metrics) -> Timelines:
    """Every series, once, for all the renderers that draw them."""
    return Timelines(throughput_series(trace, metrics), queue_series(metrics),
                     thread_busy(trace, metrics), thread_slices(trace, metrics),
                     gpu_series(trace, metrics), gpu_slices(trace, metrics),
                     sampled_series(trace, metrics))


def thread_slices(trace, metrics) -> list[ThreadSlices]:
    """Every streaming thread's slices (the whole trace, not only the window: a timeline
    viewer zooms itself)."""
    fr, out = trace.frames, trace.outside
    if fr is None or out is None or len(fr) == 0:
        return []
    act = metrics.activity
    boundary = act.boundary if act is not None else set()
    busy_order = sorted(range(len(trace.threads)), key=lambda t: -(
        act.threads[t].busy_fraction if act is not None and t in act.threads else 0.0))
    rank = {t: i for i, t in enumerate(busy_order)}
    result = []
    for t in range(len(trace.threads)):
        fs = (fr.thread == t) & (fr.element >= 0)
        os_ = (out.thread == t) & (out.owner >= 0)
        if not fs.any() and not os_.any():
            continue
        el = np.concatenate([fr.element[fs], out.owner[os_]]).astype(np.int64)
        start = np.concatenate([fr.start[fs], out.start[os_]])
        end = np.concatenate([fr.end[fs], out.end[os_]])
        wall = np.concatenate([fr.self_wall[fs], out.end[os_] - out.start[os_]]).astype(float)
        cpu = np.concatenate([fr.self_cpu[fs], out.cpu[os_]]).astype(float)
        count = np.concatenate([fr.count[fs], np.zeros(int(os_.sum()), np.int32)])
        blocked = np.concatenate([fr.blocked[fs], out.blocked[os_]])
        between = np.concatenate([np.zeros(int(fs.sum()), bool), np.ones(int(os_.sum()), bool)])
        o = np.lexsort((-end, start))
        result.append(ThreadSlices(
            t, start[o], end[o], el[o], (waiting_ns(el, wall, cpu, blocked, boundary) > 0)[o],
            between[o], wall[o].astype(np.int64), cpu[o].astype(np.int64), count[o],
            rank.get(t, len(rank))))
    return result


def gpu_series(trace, metrics) -> list[Series]:
    """Each device's busy share (kernels, copies, memsets) in bins over the window."""
    w: Window | None = metrics.window
    m = trace.gpu_clock
    gv = metrics.gpu
    if w is None or m is None or gv is None:
        return []
    edges = np.linspace(w.start, w.end, MAX_BINS // 2 + 1).astype(np.int64)
    width = np.maximum(np.diff(edges), 1)
    out = []
    g = trace.gpu
    for u in gv.devices:
        if g.op_count <= MAX_GPU_OPS:
            o = g.ops
            sel = (o.device == u.device) & (o.kind != GRAPH)  # whole graphs are their kernels
            busy = iv.union(m.back(o.start[sel]), m.back(o.end[sel]))
            v = iv.summed_overlap(busy[0], busy[1], edges) / width
        else:  # the export's own busy share by chunk, coarser
            c = m.back(u.chunk_edges)
            idx = np.clip(np.searchsorted(c, edges[:-1], side="right") - 1, 0,
                          max(u.chunk_busy.shape[0] - 1, 0))
            v = u.chunk_busy[idx] if u.chunk_busy.shape[0] else np.zeros(edges.shape[0] - 1)
        label = f"GPU {u.device} busy" + (f" ({u.name})" if u.name else "")
        out.append(Series(label, edges[:-1], np.round(100 * v, 2), "%"))
    return out


def gpu_slices(trace, metrics) -> list[GpuSlices]:
    w: Window | None = metrics.window
    m = trace.gpu_clock
    g = trace.gpu
    if w is None or m is None or g is None or not g.op_count or g.op_count > MAX_GPU_OPS:
        return []
    o = g.ops
    s, e = m.back(o.start), m.back(o.end)
    inw = (e > w.start) & (s < w.end) & (o.kind != GRAPH)
    out = []
    key = o.device[inw].astype(np.int64) << 32 | (o.stream[inw].astype(np.int64) & 0xFFFFFFFF)
    # unnamed operations (copies, memsets) by their kind: -1 - kind
    names = np.where(o.name[inw] >= 0, o.name[inw], -1 - o.kind[inw].astype(np.int32))
    for k in np.unique(key).tolist():
        sel = key == k
        un, inv = np.unique(names[sel], return_inverse=True)
        labels = [OP_KINDS.get(-1 - int(n), "?") if n < 0 else g.string(int(n))
                  for n in un.tolist()]
        out.append(GpuSlices(k >> 32, k & 0xFFFFFFFF, s[inw][sel], e[inw][sel],
                             inv.astype(np.int32), labels))
    return out


def sampled_series(trace, metrics) -> list[Series]:
    """Sampled counters placed on the tracer clock, inside the window."""
    w: Window | None = metrics.window
    if w is None:
        return []
    out = []
    for t in tracks(trace):
        if t.clock != SECONDS or t.origin_ns is None:
            continue
        ts = (t.origin_ns + t.t_seconds * 1e9).astype(np.int64)
        sel = (ts >= w.start) & (ts <= w.end) & np.isfinite(t.values)
        if not sel.any():
            continue
        label = t.name
        if t.unit == "%" and t.source == "nvml":
            # NVML's utilisation is the share of a trailing sample period (1/6 s to 1 s,
            # by product) during which the engine was busy, read at these times
            label += " (mean over NVML's trailing sample period)"
        out.append(Series(label, ts[sel], t.values[sel], t.unit))
    return out


def throughput_series(trace, metrics) -> list[Series]:
    """Frames per second into each sink, most frames first."""
    w: Window | None = metrics.window
    if w is None:
        return []
    out = []
    for s in sorted(metrics.sinks, key=lambda r: -r.frames):
        bins = int(np.clip(s.frames // FRAMES_PER_BIN, MIN_BINS, MAX_BINS))
        centres, fps = fps_timeline(trace, w, s.element, bins)
        out.append(Series(s.name, (centres * 1e9).astype(np.int64), fps, "fps"))
    return out


def queue_series(metrics) -> list[Series]:
    """Buffers held by each hand-over element, fullest on average first."""
    w: Window | None = metrics.window
    if w is None:
        return []
    qs = sorted(metrics.queues.values(), key=lambda q: -(q.mean_fill or 0.0) - q.mean_level_buffers
                * 1e-9)
    return [Series(q.name, (w.start + q.series_t * 1e9).astype(np.int64), q.series_level,
                   "buffers", q.limits.get("buffers")) for q in qs]


def busy_bins(w: Window) -> np.ndarray:
    span = max(w.end - w.start, 1)
    n = int(np.clip(span // BUSY_BIN_NS, MIN_BINS, MAX_BINS))
    return np.linspace(w.start, w.end, n + 1)


def thread_busy(trace, metrics, top: int = 6) -> list[ThreadBusy]:
    """Per streaming thread, the share of each bin each element kept it busy (its ``top``
    busiest elements apart, the rest together). Needs pipesight's entry/return records."""
    w: Window | None = metrics.window
    act = metrics.activity
    fr, out = trace.frames, trace.outside
    if w is None or act is None or act.basis != "exact" or fr is None or out is None:
        return []
    edges = busy_bins(w)
    rel = edges - w.start
    width = np.diff(edges)
    # records: frames (an element's own time) and the time between top-level calls (the
    # thread owner's), each spread evenly over the span it happened in
    fsel = (fr.element >= 0) & (fr.end >= w.start) & (fr.start <= w.end)
    osel = (out.owner >= 0) & (out.end >= w.start) & (out.start <= w.end)
    el = np.concatenate([fr.element[fsel], out.owner[osel]]).astype(np.int64)
    th = np.concatenate([fr.thread[fsel], out.thread[osel]]).astype(np.int64)
    start = np.concatenate([fr.start[fsel], out.start[osel]]) - w.start
    end = np.concatenate([fr.end[fsel], out.end[osel]]) - w.start
    wall = np.concatenate([fr.self_wall[fsel], out.end[osel] - out.start[osel]]).astype(float)
    cpu = np.concatenate([fr.self_cpu[fsel], out.cpu[osel]]).astype(float)
    blocked = np.concatenate([fr.blocked[fsel], out.blocked[osel]])
    busy = np.maximum(wall - waiting_ns(el, wall, cpu, blocked, act.boundary), 0.0)
    # (thread, element) pairs numbered without sorting millions of records
    el_c = np.cumsum(np.bincount(el, minlength=1) > 0)[el] - 1
    n_el = int(el_c.max(initial=-1)) + 1
    group = th * n_el + el_c
    n_groups = (int(th.max(initial=-1)) + 1) * n_el
    nb = rel.shape[0] - 1
    # a record inside one bin adds to it; the few that cross bin edges are spread
    b0 = np.clip(np.searchsorted(rel, start, side="right") - 1, 0, nb - 1)
    b1 = np.clip(np.searchsorted(rel, end, side="right") - 1, 0, nb - 1)
    inside = (b0 == b1) & (start >= 0) & (end <= rel[-1])
    acc = np.bincount(group[inside] * nb + b0[inside], weights=busy[inside],
                      minlength=n_groups * nb).reshape(n_groups, nb)
    cross = np.flatnonzero(~inside)
    if cross.shape[0]:
        order = cross[np.argsort(group[cross], kind="stable")]
        cuts = np.flatnonzero(np.diff(group[order])) + 1
        for part in np.split(order, cuts):
            acc[group[part[0]]] += np.diff(_spread(start[part], end[part], busy[part], rel))
    per_thread: dict[int, list[tuple[int, np.ndarray]]] = {}
    el_of = np.flatnonzero(np.bincount(el, minlength=1) > 0)
    for gi in np.flatnonzero(acc.sum(1) > 0).tolist():
        t, ec = divmod(gi, n_el)
        per_thread.setdefault(int(t), []).append(
            (int(el_of[ec]), np.clip(acc[gi] / width, 0.0, 1.0)))
    result = []
    for t in sorted(per_thread, key=lambda t: -act.threads[t].busy_fraction
                    if t in act.threads else 0.0):
        layers = sorted(per_thread[t], key=lambda x: -float(x[1].sum()))
        tb = ThreadBusy(t, edges, layers[:top])
        if len(layers) > top:
            tb.other = np.sum([v for _, v in layers[top:]], axis=0)
        result.append(tb)
    return result


def _spread(start: np.ndarray, end: np.ndarray, weight: np.ndarray, at: np.ndarray
            ) -> np.ndarray:
    """Cumulative weight up to each time in ``at``, each record's weight spread evenly over
    [start, end]: C(t) = sum of w * clip((t - start) / (end - start), 0, 1)."""
    d = np.maximum(end - start, 1).astype(float)
    rate = weight / d
    so = np.argsort(start)
    eo = np.argsort(end)
    s_sorted, e_sorted = start[so].astype(float), end[eo].astype(float)
    r_s = np.concatenate([[0.0], np.cumsum(rate[so])])
    rs_s = np.concatenate([[0.0], np.cumsum(rate[so] * s_sorted)])
    r_e = np.concatenate([[0.0], np.cumsum(rate[eo])])
    re_e = np.concatenate([[0.0], np.cumsum(rate[eo] * e_sorted)])
    i = np.searchsorted(s_sorted, at, side="right")
    j = np.searchsorted(e_sorted, at, side="right")
    return at * (r_s[i] - r_e[j]) - (rs_s[i] - re_e[j])
