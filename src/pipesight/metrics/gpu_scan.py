"""Everything measured from the GPU operations and the CUDA calls, in one pass over them.

An export's operation tables are streamed in blocks of rows, each operation joined to the API
call that launched it as the calls stream by alongside (``gpu_join``), so a run of millions of
kernels is never in memory at once. Each block updates running sums; interval unions (per
device, per stream) keep only what a later block could still change: nsys writes each table
sorted by start, so once every table has moved past a time, the busy intervals that end before
it are final. They are added up, their holes become idle time and gaps, and they are kept on
disk for the utilization by chunk, which needs the span's end before it can be cut. A table
found out of order is streamed again with the earliest start of each block asked of SQLite
first.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu_join import (
    ASYNC_NAME,
    CallWindow,
    Disorder,
    DroppedTooEarly,
    Names,
    RuntimeFacts,
    distinct,
    suffix_min,
)
from pipesight.metrics.running import Counts, Spill
from pipesight.trace.gpu import (
    COPY_DTOH,
    COPY_HTOD,
    GRAPH,
    KERNEL,
    MEM_PAGEABLE,
    MEMCPY,
    MEMSET,
    GpuTimeline,
    OpChunk,
    OpStream,
    thread_key,
)

UNION_KINDS = (KERNEL, MEMCPY, MEMSET)  # what makes a GPU busy (graphs are their kernels)


@dataclass
class Overhead:
    """Profiler overhead that counts as GPU time on a device when it falls inside the span of
    its process's operations there (as nsys analyze counts it); decided once that span is
    known well enough."""

    start: int
    end: int
    pid: int
    state: int = 0  # 0 undecided, 1 counted, -1 not


@dataclass
class DeviceScan:
    device: int
    union: iv.Merging = field(default_factory=iv.Merging)
    spill: Spill = field(default_factory=Spill)
    first: int | None = None
    last_end: int | None = None
    busy: int = 0
    idle: int = 0  # every hole
    gap_s: list[np.ndarray] = field(default_factory=list)  # holes of gap_min or more
    gap_e: list[np.ndarray] = field(default_factory=list)
    kernels: int = 0
    copies: int = 0
    memsets: int = 0
    kernel_ns: int = 0
    graph_ops: int = 0
    pid_span: dict[int, list[int]] = field(default_factory=dict)  # per process: [lo, hi]
    overhead: list[Overhead] = field(default_factory=list)
    # operations read but not yet settled (start, launching thread), to find the thread
    # whose call launched the operation that ends each idle gap once the gap is settled
    pending_s: list[np.ndarray] = field(default_factory=list)
    pending_t: list[np.ndarray] = field(default_factory=list)
    gap_t: list[np.ndarray] = field(default_factory=list)  # per gap: thread_key, -1 unknown

    def take_starts(self, s: np.ndarray, thread: np.ndarray) -> None:
        self.pending_s.append(s)
        self.pending_t.append(thread)

    def _enders(self, ends: np.ndarray) -> None:
        """The launching thread of the operation starting at each gap end; then forget the
        operations that start before the settled time (no later gap can end there)."""
        out = np.full(ends.shape[0], -1, np.int64)
        if self.pending_s:
            s = np.concatenate(self.pending_s)
            t = np.concatenate(self.pending_t)
            order = np.argsort(s, kind="stable")
            s, t = s[order], t[order]
            if ends.shape[0] and s.shape[0]:
                i = np.minimum(np.searchsorted(s, ends), s.shape[0] - 1)
                hit = s[i] == ends
                out[hit] = t[i[hit]]
            keep = s >= (self.last_end if self.last_end is not None else s.min(initial=0))
            self.pending_s, self.pending_t = [s[keep]], [t[keep]]
        self.gap_t.append(out)

    def take_settled(self, s: np.ndarray, e: np.ndarray, gap_min: int) -> None:
        if not s.shape[0]:
            return
        if self.first is None:
            self.first = int(s[0])
            hs, he = e[:-1], s[1:]
        else:
            hs = np.concatenate([[self.last_end], e[:-1]])
            he = s
        self.busy += int((e - s).sum())
        self.idle += int((he - hs).sum())
        big = (he - hs) >= gap_min
        if big.any():
            self.gap_s.append(hs[big])
            self.gap_e.append(he[big])
        self.last_end = int(e[-1])
        self._enders(he[big])
        self.spill.add(s, e)


@dataclass
class StreamScan:
    device: int
    stream: int
    union: iv.Merging = field(default_factory=iv.Merging)
    kernels: int = 0
    lo: int = 0
    hi: int = 0
    busy: int = 0
    durations: Counts = field(default_factory=Counts)
    launches: Counts = field(default_factory=Counts)  # duration of each kernel's launching call
    launchers: dict[int, int] = field(default_factory=dict)  # thread_key -> kernels launched


@dataclass
class LaunchedBy:
    """What one thread's calls launched on one device."""

    gpu_ns: int = 0
    kernels: int = 0
    h2d: int = 0
    d2h: int = 0


@dataclass
class CopyRows:
    """Copies whose launching call was found: one entry per copy."""

    call: np.ndarray  # the call's place in the stream of calls (identifies it)
    call_start: np.ndarray
    call_dur: np.ndarray
    call_thread: np.ndarray
    call_async: np.ndarray  # bool: the API's name says Async
    bytes: np.ndarray
    dur: np.ndarray
    pageable: np.ndarray  # bool: from or to pageable host memory


@dataclass
class OpScan:
    devices: list[int]  # every device with operations
    by_device: dict[int, DeviceScan]
    streams: list[StreamScan]  # by (device, stream)
    launched: dict[int, dict[int, LaunchedBy]]  # device -> thread_key -> sums (keys sorted)
    range_gpu: np.ndarray  # per g.nvtx row: GPU time launched by calls inside the range
    range_ops: np.ndarray
    copies: CopyRows
    runtime: RuntimeFacts  # the CUDA calls that matter to the thread view
    gap_min_ns: int


class _Ranges:
    """NVTX ranges by the thread that opened them, for the GPU time each one launched."""

    def __init__(self, g: GpuTimeline) -> None:
        nv = g.nvtx
        self.gpu = np.zeros(len(nv), np.int64)
        self.ops = np.zeros(len(nv), np.int64)
        # thread -> (rows of g.nvtx in start order, their starts, ends, the longest range)
        self.by_thread: dict[int, tuple[np.ndarray | slice, np.ndarray, np.ndarray, int]] = {}
        if not len(nv):
            return
        key = thread_key(nv.pid, nv.tid)
        if int(key.min()) == int(key.max()):  # one thread: no copies
            self.by_thread[int(key[0])] = (slice(None), nv.start, nv.end,
                                           int((nv.end - nv.start).max()))
            return
        order = np.argsort(key, kind="stable")
        ks = key[order]
        bounds = np.flatnonzero(np.diff(ks)) + 1
        for idx in np.split(order, bounds):
            s, e = nv.start[idx], nv.end[idx]
            self.by_thread[int(key[idx[0]])] = (idx, s, e, int((e - s).max()))

    def add(self, thread: np.ndarray, call_start: np.ndarray, dur: np.ndarray) -> None:
        """Operations launched by calls on ``thread`` that started at ``call_start``: each
        range of that thread holding the call's start (both ends included) gets the time."""
        if not self.by_thread or not thread.shape[0]:
            return
        for t in distinct(thread):
            r = self.by_thread.get(t)
            if r is None:
                continue
            idx, rs, re_, longest = r
            m = thread == t
            cs = call_start[m]
            order = np.argsort(cs, kind="stable")
            cs = cs[order]
            cum = np.concatenate([[0], np.cumsum(dur[m][order])])
            # only ranges that can hold one of these starts (ranges are in start order)
            lo = int(np.searchsorted(rs, int(cs[0]) - longest, side="left"))
            hi = int(np.searchsorted(rs, int(cs[-1]), side="right"))
            hit = np.flatnonzero(re_[lo:hi] >= cs[0]) + lo
            if not hit.shape[0]:
                continue
            a = np.searchsorted(cs, rs[hit], side="left")
            b = np.searchsorted(cs, re_[hit], side="right")
            rows = hit if isinstance(idx, slice) else idx[hit]
            self.gpu[rows] += cum[b] - cum[a]
            self.ops[rows] += b - a


def scan_ops(g: GpuTimeline, counted_overhead: list[int], gap_min_ns: int) -> OpScan:
    """One pass over the operations and CUDA calls of ``g``'s export. ``counted_overhead``:
    indices into g.overhead of profiler overhead that counts as GPU time."""
    if g.source is None:
        raise ValueError("a GPU timeline without its export cannot be measured")
    with g.source.session(g) as sess:
        exact, drop = False, True
        while True:
            try:
                return _Scan(g, counted_overhead, gap_min_ns).run(sess, exact, drop)
            except Disorder:
                if exact:
                    raise
                exact = True
            except DroppedTooEarly:
                drop = False


class _Scan:
    def __init__(self, g: GpuTimeline, counted_overhead: list[int], gap_min_ns: int) -> None:
        self.g = g
        self.gap_min = gap_min_ns
        self.ov = g.overhead.take(np.asarray(counted_overhead, np.int64)) if counted_overhead \
            else None
        self.dev: dict[int, DeviceScan] = {}
        self.streams: dict[tuple[int, int], StreamScan] = {}
        self.launched: dict[tuple[int, int], LaunchedBy] = {}
        self.ranges = _Ranges(g)
        self.copies: list[CopyRows] = []
        self.settled_upto: float = -math.inf
        self.async_name = Names(g, ASYNC_NAME)
        self.calls: CallWindow | None = None

    # -- reading order and settling ----------------------------------------------------------

    def run(self, sess, exact: bool, drop: bool) -> OpScan:
        self.calls = CallWindow(self.g, sess.call_stream("runtime"), exact, drop)
        # every table moves in step (graphs too: their calls must still be at hand)
        union: list[OpStream] = sess.op_streams()
        its = [iter(s.chunks()) for s in union]
        # per table: a lower bound on the start of every row not yet read (None: not started)
        front: list[float | None] = [None] * len(union)
        lows = [suffix_min(s.chunk_lows()) for s in union] if exact else None
        taken = [0] * len(union)
        done = [False] * len(union)
        while not all(done):
            i = min((k for k in range(len(union)) if not done[k]),
                    key=lambda k: -math.inf if front[k] is None else front[k])
            ch = next(its[i], None)
            if ch is None:
                done[i] = True
            else:
                if len(ch) and int(ch.start.min()) < self.settled_upto:
                    raise Disorder
                taken[i] += 1
                if lows is not None:
                    front[i] = lows[i][taken[i]]
                elif len(ch):
                    front[i] = float(ch.start.min())
                self._take(ch)
            live = [front[k] for k in range(len(union)) if not done[k]]
            f = math.inf if not live else (-math.inf if None in live else min(live))
            self._settle(f)
        runtime = self.calls.finish(self._gaps())
        return self._result(runtime)

    def _gaps(self, front: float = math.inf) -> iv.Set:
        """Every idle gap known before ``front``, on any device: those found as busy
        intervals settled, and the one before a device's first unsettled interval when that
        starts before ``front`` (nothing still to come can fill it)."""
        s = [a for d in self.dev.values() for a in d.gap_s]
        e = [a for d in self.dev.values() for a in d.gap_e]
        for d in self.dev.values():
            if d.last_end is not None and len(d.union) and int(d.union.s[0]) <= front \
                    and int(d.union.s[0]) - d.last_end >= self.gap_min:
                s.append(np.array([d.last_end]))
                e.append(d.union.s[:1])
        return iv.union(np.concatenate(s), np.concatenate(e)) if s else iv.EMPTY

    def _known_upto(self, front: float) -> float:
        """The idle gaps before this time are all known: the busy time before ``front`` is
        final, but a device idle since its last operation may yet have a gap there."""
        out = front
        for d in self.dev.values():
            if len(d.union):
                p0, q0 = int(d.union.s[0]), int(d.union.e[0])
                if p0 <= front:  # busy from p0 on (the hole before it is known)
                    out = min(out, max(q0, front) if q0 >= front else q0)
                    continue
            if d.last_end is not None:
                out = min(out, d.last_end)
        return out

    def _settle(self, front: float) -> None:
        if front <= -math.inf:
            return
        self.settled_upto = max(self.settled_upto, front)
        for d in self.dev.values():
            cap = self._overhead(d, front) if d.overhead else front
            s, e = d.union.settle(cap)
            d.take_settled(s, e, self.gap_min)
        for st in self.streams.values():
            s, e = st.union.settle(front)
            st.busy += int((e - s).sum())
        if self.calls is not None and front < math.inf:
            self.calls.settle(front, self._known_upto(front), self._gaps(front))

    def _overhead(self, d: DeviceScan, front: float) -> float:
        """Decides what overhead it can; returns how far the device may settle (not past an
        undecided one)."""
        cap = front
        for o in d.overhead:
            if o.state:
                continue
            span = d.pid_span.get(o.pid)
            if span is None or span[0] > front:  # its process's first operation may yet come
                if span is None and front >= o.start:
                    o.state = -1  # any operation still to come starts after it
                else:
                    cap = min(cap, o.start)
                continue
            lo, hi = span
            if o.start <= lo:
                o.state = -1
            elif o.end < hi:
                o.state = 1
                d.union.add(np.array([o.start]), np.array([o.end]))
            elif front == math.inf:
                o.state = -1
            else:
                cap = min(cap, o.start)  # its process may yet run past it
        return cap

    # -- one block of operations ---------------------------------------------------------------

    def _device(self, d: int) -> DeviceScan:
        ds = self.dev.get(d)
        if ds is None:
            ds = self.dev[d] = DeviceScan(d)
            if self.ov is not None:
                ds.overhead = [Overhead(int(s), int(e), int(p)) for s, e, p in
                               zip(self.ov.start.tolist(), self.ov.end.tolist(),
                                   self.ov.pid.tolist(), strict=True)]
        return ds

    def _take(self, ch: OpChunk) -> None:
        if not len(ch):
            return
        assert self.calls is not None
        self.calls.join(ch)
        assert ch.call_thread is not None and ch.call_start is not None \
            and ch.call_dur is not None
        kind = ch.kind
        dur = ch.end - ch.start
        found = ch.call_start >= 0
        devices = distinct(ch.device)
        for d in devices:
            on = ch.device == d if len(devices) > 1 else np.ones(len(ch), bool)
            ds = self._device(d)
            n = int(on.sum())
            ds.graph_ops += n if kind == GRAPH else int(ch.graph[on].sum())
            if kind == KERNEL:
                ds.kernels += n
                ds.kernel_ns += int(dur[on].sum())
            elif kind == MEMCPY:
                ds.copies += n
            elif kind == MEMSET:
                ds.memsets += n
            if kind in UNION_KINDS:
                ds.union.add(ch.start[on], ch.end[on])
                ds.take_starts(ch.start[on], ch.call_thread[on])
                if ds.overhead:
                    self._pid_spans(ds, ch.pid[on], ch.start[on], ch.end[on])
            self._launched(d, kind, ch, on & found, dur)
        if kind == KERNEL:
            self._streams(ch, dur, found)
        if kind == MEMCPY:
            self._copies(ch, dur, found)
        self.ranges.add(ch.call_thread[found], ch.call_start[found], dur[found])

    def _pid_spans(self, ds: DeviceScan, pid: np.ndarray, s: np.ndarray, e: np.ndarray) -> None:
        for p in distinct(pid):
            m = pid == p
            lo, hi = int(s[m].min()), int(e[m].max())
            span = ds.pid_span.get(p)
            if span is None:
                ds.pid_span[p] = [lo, hi]
            else:
                span[0], span[1] = min(span[0], lo), max(span[1], hi)

    def _launched(self, d: int, kind: int, ch: OpChunk, sel: np.ndarray, dur: np.ndarray
                  ) -> None:
        if not sel.any():
            return
        th = ch.call_thread[sel]
        u, inv = np.unique(th, return_inverse=True)
        gpu = np.bincount(inv, weights=dur[sel].astype(np.float64))
        cnt = np.bincount(inv)
        h2d = d2h = None
        if kind == MEMCPY:
            ck = ch.copy_kind[sel] if ch.copy_kind is not None else np.zeros(0)
            h2d = np.bincount(inv, weights=(ck == COPY_HTOD))
            d2h = np.bincount(inv, weights=(ck == COPY_DTOH))
        for i, t in enumerate(u.tolist()):
            lb = self.launched.setdefault((d, t), LaunchedBy())
            lb.gpu_ns += int(gpu[i])
            if kind == KERNEL:
                lb.kernels += int(cnt[i])
            elif h2d is not None and d2h is not None:
                lb.h2d += int(h2d[i])
                lb.d2h += int(d2h[i])

    def _streams(self, ch: OpChunk, dur: np.ndarray, found: np.ndarray) -> None:
        key = (ch.device << 32) | (ch.stream & 0xFFFFFFFF)
        keys = distinct(key)
        for k in keys:
            m = key == k if len(keys) > 1 else np.ones(len(ch), bool)
            ss = self.streams.get((k >> 32, k & 0xFFFFFFFF))
            s, e = ch.start[m], ch.end[m]
            if ss is None:
                ss = self.streams[(k >> 32, k & 0xFFFFFFFF)] = StreamScan(
                    k >> 32, k & 0xFFFFFFFF, lo=int(s.min()), hi=int(e.max()))
            ss.kernels += int(m.sum())
            ss.lo, ss.hi = min(ss.lo, int(s.min())), max(ss.hi, int(e.max()))
            ss.union.add(s, e)
            ss.durations.add(dur[m])
            f = m & found
            if f.any():
                ss.launches.add(ch.call_dur[f])
                u, c = np.unique(ch.call_thread[f], return_counts=True)
                for t, n in zip(u.tolist(), c.tolist(), strict=True):
                    ss.launchers[t] = ss.launchers.get(t, 0) + n

    def _copies(self, ch: OpChunk, dur: np.ndarray, found: np.ndarray) -> None:
        if not found.any():
            return
        ck, sk, dk = ch.copy_kind, ch.src_kind, ch.dst_kind
        assert ck is not None and sk is not None and dk is not None and ch.bytes is not None
        assert ch.call_seq is not None and ch.call_name is not None
        pageable = (((ck == COPY_HTOD) & (sk == MEM_PAGEABLE))
                    | ((ck == COPY_DTOH) & (dk == MEM_PAGEABLE)))
        f = found
        self.copies.append(CopyRows(
            call=ch.call_seq[f], call_start=ch.call_start[f], call_dur=ch.call_dur[f],
            call_thread=ch.call_thread[f],
            call_async=self.async_name(ch.call_name[f].astype(np.int32)),
            bytes=ch.bytes[f], dur=dur[f], pageable=pageable[f]))

    # -- what is left ----------------------------------------------------------------------------

    def _result(self, runtime: RuntimeFacts) -> OpScan:
        launched: dict[int, dict[int, LaunchedBy]] = {}
        for (d, t) in sorted(self.launched):
            launched.setdefault(d, {})[t] = self.launched[(d, t)]
        streams = [self.streams[k] for k in sorted(self.streams)]
        cp = self.copies
        copies = CopyRows(**{f: np.concatenate([getattr(c, f) for c in cp]) if cp else
                             np.zeros(0, bool if f in ("pageable", "call_async") else np.int64)
                             for f in CopyRows.__dataclass_fields__})
        return OpScan(devices=sorted(self.dev), by_device=self.dev, streams=streams,
                      launched=launched, range_gpu=self.ranges.gpu, range_ops=self.ranges.ops,
                      copies=copies, runtime=runtime, gap_min_ns=self.gap_min)
