"""The CPU side of the GPU timeline: which thread launched the GPU work, which threads hand
work to each other, and what every thread did while the GPU sat idle.

A thread is *busy* where it is inside one of its own NVTX ranges (push/pop, or start/end
ranges it opened and closed itself) and not inside an OS runtime call, a CUDA synchronization
or a wait for the GIL. Ranges that end on another thread are not work of either thread: they
mark a hand-over (nvinfer's buffer_process ranges do this) and tell which thread feeds which.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu import DeviceUse, scan
from pipesight.metrics.gpu_calls import CallFacts, Thread
from pipesight.metrics.gpu_scan import OpScan
from pipesight.trace.gpu import START_END, Calls, GpuTimeline, split_thread_key

# a gap that begins this soon after a blocking CUDA call returns on the launching thread
# followed that call (the call's return lags the GPU's last operation by tens of microseconds)
AFTER_WAIT_NS = 1_000_000
BEFORE_WAIT_NS = 100_000


def links(g: GpuTimeline) -> OpScan:
    """Operations joined to the API calls that launched them (correlation ids are per
    process), with what that join measures: the streamed pass over the operations."""
    return scan(g)


def _thread(k: int) -> Thread:
    p, t = split_thread_key(np.array([k]))
    return int(p[0]), int(t[0])


def _key(pid: np.ndarray, tid: np.ndarray) -> np.ndarray:
    return (pid.astype(np.int64) << 32) | (tid.astype(np.int64) & 0xFFFFFFFF)


def _groups(pid: np.ndarray, tid: np.ndarray) -> dict[Thread, np.ndarray]:
    if pid.shape[0] == 0:
        return {}
    if int(pid.min()) == int(pid.max()) and int(tid.min()) == int(tid.max()):  # one thread
        return {(int(pid[0]), int(tid[0])): np.arange(pid.shape[0])}
    key = _key(pid, tid)
    order = np.argsort(key, kind="stable")
    ks = key[order]
    bounds = np.flatnonzero(np.diff(ks)) + 1
    out = {}
    for idx in np.split(order, bounds):
        out[(int(pid[idx[0]]), int(tid[idx[0]]))] = idx
    return out


def _calls_set(c: Calls, idx: np.ndarray | None) -> iv.Set:
    if idx is None or idx.shape[0] == 0:
        return iv.EMPTY
    return iv.union(c.start[idx], c.end[idx])


@dataclass
class ThreadRow:
    pid: int
    tid: int
    label: str
    # over the device's span
    busy_ns: int = 0  # in its own NVTX ranges, not waiting
    range_ns: int = 0  # in its own NVTX ranges, waiting included
    launched_gpu_ns: int = 0  # GPU time of the operations it launched on this device
    kernels_launched: int = 0
    h2d_copies: int = 0
    d2h_copies: int = 0
    sync_calls: int = 0
    sync_ns: int = 0  # inside CUDA synchronization calls
    video_calls: int = 0
    # during the device's idle gaps
    gap_busy_ns: int = 0
    gap_sync_ns: int = 0  # in CUDA synchronization calls
    gap_os_ns: int = 0  # in OS runtime calls (I/O, sleeps, locks)
    gap_gil_ns: int = 0
    gap_video_ns: int = 0  # in video decoder/encoder API calls
    gap_cuda_ns: int = 0  # in other CUDA API calls
    gap_ranges: list[tuple[str, int]] = field(default_factory=list)  # innermost ranges
    gap_os_calls: list[tuple[str, int]] = field(default_factory=list)
    span_ranges: list[tuple[str, int]] = field(default_factory=list)  # innermost ranges

    @property
    def key(self) -> Thread:
        return (self.pid, self.tid)


@dataclass
class DeviceThreads:
    device: int
    gap_ns: int
    rows: dict[Thread, ThreadRow]
    launcher: Thread | None  # the thread whose calls launched most GPU time on the device
    # hand-overs: ranges opened on one thread and closed on another, counted per pair
    flows: dict[tuple[Thread, Thread], int]
    gaps_after_wait: int  # gaps that began as a blocking CUDA call returned on the launcher
    gap_count: int

    def ranked(self) -> list[ThreadRow]:
        """Threads by time busy during the gaps, most first."""
        return sorted(self.rows.values(), key=lambda r: -r.gap_busy_ns)


def _top(names: np.ndarray, ns: np.ndarray, g: GpuTimeline, n: int = 5) -> list[tuple[str, int]]:
    """The n names with the most time (a name's rows summed), most first."""
    return _ranked(*_by_name(names, ns), g, n)


def _by_name(names: np.ndarray, ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Time and rows with time, per name (string index + 1, so that -1, no name, counts)."""
    keep = ns > 0
    idx = names[keep].astype(np.int64) + 1
    return np.bincount(idx, weights=ns[keep].astype(np.float64)), np.bincount(idx)


def _ranked(tot_all: np.ndarray, rows: np.ndarray, g: GpuTimeline, n: int
            ) -> list[tuple[str, int]]:
    u = np.flatnonzero(rows) - 1  # the names with time, in name order
    if not u.shape[0]:
        return []
    tot = tot_all[u + 1]
    order = np.argsort(-tot)[:n]
    return [(g.string(int(u[i])), int(tot[i])) for i in order]


def _top_ranges(g: GpuTimeline, li: np.ndarray, st: iv.Set, n: int = 5, block: int = 1 << 18
                ) -> list[tuple[str, int]]:
    """``_top`` of NVTX ranges ``li`` by their time inside ``st``, a block of rows at a time
    (a long run holds millions)."""
    nv = g.nvtx
    tot = np.zeros(0)
    rows = np.zeros(0, np.int64)
    for a in range(0, li.shape[0], block):
        i = li[a:a + block]
        t, r = _by_name(nv.name[i], iv.overlap(st, nv.start[i], nv.end[i]))
        if t.shape[0] > tot.shape[0]:
            t[:tot.shape[0]] += tot
            r[:rows.shape[0]] += rows
            tot, rows = t, r
        else:
            tot[:t.shape[0]] += t
            rows[:r.shape[0]] += r
    return _ranked(tot, rows, g, n)


def _leaves(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Ranges (sorted by start, outer first) that hold no other range of the same thread."""
    if starts.shape[0] == 0:
        return np.zeros(0, bool)
    leaf = np.ones(starts.shape[0], bool)
    leaf[:-1] = starts[1:] >= ends[:-1]
    return leaf


def device_threads(g: GpuTimeline, use: DeviceUse, ops: OpScan, calls: CallFacts
                   ) -> DeviceThreads:
    """``calls.own``: each thread's own NVTX ranges, as a set."""
    span: iv.Set = (np.array([use.start]), np.array([use.end]))
    gaps: iv.Set = (use.gap_start, use.gap_end)
    nv = g.nvtx
    rows: dict[Thread, ThreadRow] = {}

    def row(t: Thread) -> ThreadRow:
        if t not in rows:
            rows[t] = ThreadRow(t[0], t[1], g.thread_label(*t))
        return rows[t]

    # who launched what on this device
    for k, lb in ops.launched.get(use.device, {}).items():
        r = row(_thread(k))
        r.launched_gpu_ns, r.kernels_launched = lb.gpu_ns, lb.kernels
        r.h2d_copies, r.d2h_copies = lb.h2d, lb.d2h
    launcher = max((r for r in rows.values() if r.launched_gpu_ns > 0),
                   key=lambda r: r.launched_gpu_ns, default=None)

    sync_groups = _groups(calls.sync.pid, calls.sync.tid)
    other_groups = _groups(calls.other.pid, calls.other.tid)
    os_groups = _groups(calls.osrt.pid, calls.osrt.tid)
    gil_groups = _groups(calls.gil.pid, calls.gil.tid)
    vid_groups = _groups(calls.video.pid, calls.video.tid)
    own = (nv.kind != START_END) | (nv.end_tid == nv.tid)
    every = bool(own.all())
    nv_groups = _groups(nv.pid, nv.tid) if every else _groups(nv.pid[own], nv.tid[own])
    own_idx = np.arange(len(nv)) if every else np.flatnonzero(own)
    # every thread that made calls of a kind, each kind in thread order (the order in which
    # they are visited decides ties in the ranking)
    threads = set(nv_groups) | set(_in_order(calls.osrt_threads)) | set(
        _in_order(calls.gil_threads)) | set(_in_order(calls.video_calls)) | set(
        _in_order(calls.runtime_threads))
    for t in threads:
        si = sync_groups.get(t)
        sync_set = _calls_set(calls.sync, si)
        os_set = _calls_set(calls.osrt, os_groups.get(t))
        gil_set = _calls_set(calls.gil, gil_groups.get(t))
        vid_set = _calls_set(calls.video, vid_groups.get(t))
        waits = iv.union(np.concatenate([sync_set[0], os_set[0], gil_set[0]]),
                         np.concatenate([sync_set[1], os_set[1], gil_set[1]]))
        ni = own_idx[nv_groups[t]] if t in nv_groups else np.zeros(0, np.int64)
        if ni.shape[0] == len(nv):  # every range is this thread's own: no copies
            ni = slice(None)  # type: ignore[assignment]
        ranges = iv.intersect(calls.own.get(_key_of(t), iv.EMPTY), span)
        busy = iv.subtract(ranges, waits)
        b_gap = iv.total(iv.intersect(busy, gaps))
        s_gap = iv.total(iv.intersect(sync_set, gaps))
        o_gap = iv.total(iv.intersect(os_set, gaps))
        g_gap = iv.total(iv.intersect(gil_set, gaps))
        v_gap = iv.total(iv.intersect(vid_set, gaps))
        c_gap = iv.total(iv.intersect(_calls_set(calls.other, other_groups.get(t)), gaps))
        n_sync = int(si.shape[0]) if si is not None else 0
        n_vid = calls.video_calls.get(_key_of(t), 0)
        if not (ranges[0].shape[0] or n_sync or n_vid or o_gap or t in rows):
            continue
        r = row(t)
        r.busy_ns, r.range_ns = iv.total(busy), iv.total(ranges)
        r.sync_calls, r.video_calls = n_sync, n_vid
        r.sync_ns = iv.total(iv.intersect(sync_set, span))
        r.gap_busy_ns, r.gap_sync_ns, r.gap_os_ns = b_gap, s_gap, o_gap
        r.gap_gil_ns, r.gap_video_ns, r.gap_cuda_ns = g_gap, v_gap, c_gap
        if len(nv.start[ni]):
            leaf = _leaves(nv.start[ni], nv.end[ni])
            li = np.flatnonzero(leaf) if isinstance(ni, slice) else ni[leaf]
            if gaps[0].shape[0]:
                r.gap_ranges = _top_ranges(g, li, gaps)
            r.span_ranges = _top_ranges(g, li, span)
        oi = os_groups.get(t)
        if oi is not None and o_gap:
            r.gap_os_calls = _top(calls.osrt.name[oi],
                                  iv.overlap(gaps, calls.osrt.start[oi], calls.osrt.end[oi]), g)

    flows: dict[tuple[Thread, Thread], int] = {}
    cross = (nv.kind == START_END) & (nv.end_tid != nv.tid) & (nv.end_tid >= 0)
    cross &= (nv.end > use.start) & (nv.start < use.end)
    for a, b, p in zip(nv.tid[cross].tolist(), nv.end_tid[cross].tolist(),
                       nv.pid[cross].tolist(), strict=True):
        flows[((p, a), (p, b))] = flows.get(((p, a), (p, b)), 0) + 1

    after = 0
    if launcher is not None and use.gap_count:
        ends = calls.blocking_end.get(_key_of(launcher.key), np.zeros(0, np.int64))
        lo = np.searchsorted(ends, use.gap_start - BEFORE_WAIT_NS)
        hi = np.searchsorted(ends, use.gap_start + AFTER_WAIT_NS, side="right")
        after = int(np.count_nonzero(hi > lo))
    return DeviceThreads(
        device=use.device,
        gap_ns=use.gap_ns,
        rows=rows,
        launcher=launcher.key if launcher else None,
        flows=flows,
        gaps_after_wait=after,
        gap_count=use.gap_count,
    )


def launcher_key(ops: OpScan, device: int) -> int | None:
    """The thread whose calls launched the most GPU time on the device (the first, in thread
    order, among equals), as a thread_key."""
    best, most = None, 0
    for k, lb in ops.launched.get(device, {}).items():
        if lb.gpu_ns > most:
            best, most = k, lb.gpu_ns
    return best


def _in_order(keys) -> dict[Thread, None]:
    return dict.fromkeys(_thread(k) for k in sorted(keys))


def _key_of(t: Thread) -> int:
    return (t[0] << 24) | t[1] if t[0] >= 0 else -1


# -- copies, streams, NVTX projection -----------------------------------------------------------

@dataclass
class CopyUse:
    """Copies that block the calling thread."""

    kind: str  # "sync-api" (cudaMemcpy and kin) or "pageable-async"
    count: int
    bytes: int
    gpu_ns: int
    call_ns: int  # time the calling threads spent inside the calls
    threads: list[tuple[str, int]]  # calling threads by call time


def copy_use(g: GpuTimeline, ops: OpScan) -> list[CopyUse]:
    cp = ops.copies
    if not cp.call.shape[0]:
        return []
    api_async = cp.call_async
    out = []
    for kind, sel in (("sync-api", ~api_async), ("pageable-async", api_async & cp.pageable)):
        if not sel.any():
            continue
        _, first = np.unique(cp.call[sel], return_index=True)
        call_ns = cp.call_dur[sel][first]
        who = cp.call_thread[sel][first]
        labels = np.array([g.thread_label(*_thread(int(k))) for k in who.tolist()])
        u, inv = np.unique(labels, return_inverse=True)
        per = np.bincount(inv, weights=call_ns.astype(np.float64))
        out.append(CopyUse(
            kind=kind, count=int(np.count_nonzero(sel)), bytes=int(cp.bytes[sel].sum()),
            gpu_ns=int(cp.dur[sel].sum()), call_ns=int(call_ns.sum()),
            threads=[(str(u[i]), int(per[i])) for i in np.argsort(-per)[:3]],
        ))
    return out


@dataclass
class StreamUse:
    device: int
    stream: int
    kernels: int
    span_ns: int
    busy_ns: int  # union of its kernels
    median_kernel_ns: float
    median_launch_ns: float | None  # median time of the API calls that launched them
    launcher: str | None


def stream_use(g: GpuTimeline, ops: OpScan) -> list[StreamUse]:
    out = []
    for st in ops.streams:
        top = max(st.launchers, key=lambda t: st.launchers[t], default=None)
        out.append(StreamUse(
            device=st.device, stream=st.stream, kernels=st.kernels, span_ns=st.hi - st.lo,
            busy_ns=st.busy, median_kernel_ns=st.durations.median() or 0.0,
            median_launch_ns=st.launches.median(),
            launcher=g.thread_label(*_thread(top)) if top is not None else None,
        ))
    return out


@dataclass
class RangeGpu:
    name: str
    instances: int
    range_ns: int  # summed duration of the ranges
    gpu_ns: int  # GPU time of the operations launched inside them
    ops: int


def nvtx_gpu_time(g: GpuTimeline, ops: OpScan, top: int = 20) -> list[RangeGpu]:
    """GPU time projected onto the NVTX ranges that launched it: each range gets the GPU
    time of the operations launched by calls made on its thread between its start and end
    (nested ranges each count what they hold)."""
    nv = g.nvtx
    if not len(nv) or not g.call_count:
        return []
    gpu, ops_n = ops.range_gpu, ops.range_ops
    names, inv = np.unique(nv.name, return_inverse=True)
    tot = np.bincount(inv, weights=gpu.astype(np.float64))
    cnt = np.bincount(inv)
    rng = np.bincount(inv, weights=(nv.end - nv.start).astype(np.float64))
    nops = np.bincount(inv, weights=ops_n.astype(np.float64))
    order = [i for i in np.argsort(-tot) if tot[i] > 0][:top]
    return [RangeGpu(g.string(int(names[i])), int(cnt[i]), int(rng[i]), int(tot[i]),
                     int(nops[i])) for i in order]
