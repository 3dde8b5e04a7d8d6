"""The CPU side of the GPU timeline: which thread launched the GPU work, which threads hand
work to each other, and what every thread did while the GPU sat idle.

A thread is *busy* where it is inside one of its own NVTX ranges (push/pop, or start/end
ranges it opened and closed itself) and not inside an OS runtime call, a CUDA synchronization
or a wait for the GIL. Ranges that end on another thread are not work of either thread: they
mark a hand-over (nvinfer's buffer_process ranges do this) and tell which thread feeds which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu import DeviceUse
from pipesight.model.gpu import (
    COPY_DTOH,
    COPY_HTOD,
    KERNEL,
    MEM_PAGEABLE,
    MEMCPY,
    START_END,
    Calls,
    GpuTimeline,
)

Thread = tuple[int, int]  # (pid, tid)
# a gap that begins this soon after a blocking CUDA call returns on the launching thread
# followed that call (the call's return lags the GPU's last operation by tens of microseconds)
AFTER_WAIT_NS = 1_000_000
BEFORE_WAIT_NS = 100_000
_SYNC_NAME = re.compile(r"Synchronize", re.IGNORECASE)
_ASYNC_NAME = re.compile(r"Async", re.IGNORECASE)


@dataclass
class Links:
    """Joins between GPU operations and the API calls that launched them (correlation ids
    are per process)."""

    op_call: np.ndarray  # per op: index into runtime, -1 when not found
    call_gpu_ns: np.ndarray  # per runtime call: summed duration of the ops it launched
    call_ops: np.ndarray  # per runtime call: number of ops it launched
    call_sync: np.ndarray  # per runtime call: it waited for the GPU (CUDA synchronization)
    call_copy: np.ndarray  # per runtime call: it launched a copy


def _matches(g: GpuTimeline, ids: np.ndarray, rx: re.Pattern) -> np.ndarray:
    """For string indices, whether the string matches (each distinct name tested once)."""
    if ids.shape[0] == 0:
        return np.zeros(0, bool)
    u, inv = np.unique(ids, return_inverse=True)
    hit = np.array([bool(rx.search(g.string(int(i)))) for i in u], bool)
    return hit[inv]


def _key(pid: np.ndarray, corr: np.ndarray) -> np.ndarray:
    return (pid.astype(np.int64) << 32) | (corr.astype(np.int64) & 0xFFFFFFFF)


def _lookup(keys_sorted: np.ndarray, order: np.ndarray, q: np.ndarray) -> np.ndarray:
    if keys_sorted.shape[0] == 0:
        return np.full(q.shape, -1, np.int64)
    pos = np.minimum(np.searchsorted(keys_sorted, q), keys_sorted.shape[0] - 1)
    return np.where(keys_sorted[pos] == q, order[pos], -1)


def links(g: GpuTimeline) -> Links:
    rt = g.runtime
    n = len(rt)
    has = rt.correlation >= 0
    rk = np.where(has, _key(rt.pid, rt.correlation), -1)
    order = np.argsort(rk, kind="stable")
    rks = rk[order]
    o = g.ops
    op_call = np.where(o.correlation >= 0, _lookup(rks, order, _key(o.pid, o.correlation)), -1)
    found = op_call >= 0
    dur = (o.end - o.start).astype(np.float64)
    call_gpu = np.bincount(op_call[found], weights=dur[found], minlength=n).astype(np.int64)
    call_ops = np.bincount(op_call[found], minlength=n)
    sync_call = _lookup(rks, order, _key(g.sync.pid, g.sync.correlation))
    call_sync = np.zeros(n, bool)
    call_sync[sync_call[sync_call >= 0]] = True
    # exports without CUPTI synchronization records still name the call
    call_sync |= _matches(g, rt.name, _SYNC_NAME)
    call_copy = np.zeros(n, bool)
    call_copy[op_call[found & (o.kind == MEMCPY)]] = True
    return Links(op_call, call_gpu, call_ops, call_sync, call_copy)


def _groups(pid: np.ndarray, tid: np.ndarray) -> dict[Thread, np.ndarray]:
    if pid.shape[0] == 0:
        return {}
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
    if names.shape[0] == 0:
        return []
    keep = ns > 0
    names, ns = names[keep], ns[keep]
    if names.shape[0] == 0:
        return []
    u, inv = np.unique(names, return_inverse=True)
    tot = np.bincount(inv, weights=ns.astype(np.float64))
    order = np.argsort(-tot)[:n]
    return [(g.string(int(u[i])), int(tot[i])) for i in order]


def _leaves(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Ranges (sorted by start, outer first) that hold no other range of the same thread."""
    if starts.shape[0] == 0:
        return np.zeros(0, bool)
    leaf = np.ones(starts.shape[0], bool)
    leaf[:-1] = starts[1:] >= ends[:-1]
    return leaf


def device_threads(g: GpuTimeline, use: DeviceUse, lk: Links) -> DeviceThreads:
    span: iv.Set = (np.array([use.start]), np.array([use.end]))
    gaps: iv.Set = (use.gap_start, use.gap_end)
    rt, o, nv = g.runtime, g.ops, g.nvtx
    on_dev = o.device == use.device
    rows: dict[Thread, ThreadRow] = {}

    def row(t: Thread) -> ThreadRow:
        if t not in rows:
            rows[t] = ThreadRow(t[0], t[1], g.thread_label(*t))
        return rows[t]

    # who launched what on this device
    launched = on_dev & (lk.op_call >= 0)
    call_of = lk.op_call[launched]
    dur = (o.end - o.start)[launched]
    for t, idx in _groups(rt.pid[call_of], rt.tid[call_of]).items():
        r = row(t)
        r.launched_gpu_ns = int(dur[idx].sum())
        kinds = o.kind[launched][idx]
        ck = o.copy_kind[launched][idx]
        r.kernels_launched = int(np.count_nonzero(kinds == KERNEL))
        r.h2d_copies = int(np.count_nonzero((kinds == MEMCPY) & (ck == COPY_HTOD)))
        r.d2h_copies = int(np.count_nonzero((kinds == MEMCPY) & (ck == COPY_DTOH)))
    launcher = max((r for r in rows.values() if r.launched_gpu_ns > 0),
                   key=lambda r: r.launched_gpu_ns, default=None)

    rt_groups = _groups(rt.pid, rt.tid)
    os_groups = _groups(g.osrt.pid, g.osrt.tid)
    gil_groups = _groups(g.gil.pid, g.gil.tid)
    vid_groups = _groups(g.video.pid, g.video.tid)
    own = (nv.kind != START_END) | (nv.end_tid == nv.tid)
    nv_groups = _groups(nv.pid[own], nv.tid[own])
    own_idx = np.flatnonzero(own)
    threads = set(nv_groups) | set(os_groups) | set(gil_groups) | set(vid_groups) | set(
        rt_groups)
    for t in threads:
        rti = rt_groups.get(t)
        sync_i = rti[lk.call_sync[rti]] if rti is not None else None
        other_i = rti[~lk.call_sync[rti]] if rti is not None else None
        sync_set = _calls_set(rt, sync_i)
        os_set = _calls_set(g.osrt, os_groups.get(t))
        gil_set = _calls_set(g.gil, gil_groups.get(t))
        vid_set = _calls_set(g.video, vid_groups.get(t))
        waits = iv.union(np.concatenate([sync_set[0], os_set[0], gil_set[0]]),
                         np.concatenate([sync_set[1], os_set[1], gil_set[1]]))
        ni = own_idx[nv_groups[t]] if t in nv_groups else np.zeros(0, np.int64)
        ranges = iv.intersect(iv.union(nv.start[ni], nv.end[ni]), span)
        busy = iv.subtract(ranges, waits)
        b_gap = iv.total(iv.intersect(busy, gaps))
        s_gap = iv.total(iv.intersect(sync_set, gaps))
        o_gap = iv.total(iv.intersect(os_set, gaps))
        g_gap = iv.total(iv.intersect(gil_set, gaps))
        v_gap = iv.total(iv.intersect(vid_set, gaps))
        c_gap = iv.total(iv.intersect(_calls_set(rt, other_i), gaps))
        n_sync = int(sync_i.shape[0]) if sync_i is not None else 0
        n_vid = int(vid_groups[t].shape[0]) if t in vid_groups else 0
        if not (ranges[0].shape[0] or n_sync or n_vid or o_gap or t in rows):
            continue
        r = row(t)
        r.busy_ns, r.range_ns = iv.total(busy), iv.total(ranges)
        r.sync_calls, r.video_calls = n_sync, n_vid
        r.sync_ns = iv.total(iv.intersect(sync_set, span))
        r.gap_busy_ns, r.gap_sync_ns, r.gap_os_ns = b_gap, s_gap, o_gap
        r.gap_gil_ns, r.gap_video_ns, r.gap_cuda_ns = g_gap, v_gap, c_gap
        if ni.shape[0]:
            leaf = _leaves(nv.start[ni], nv.end[ni])
            li = ni[leaf]
            r.gap_ranges = _top(nv.name[li], iv.overlap(gaps, nv.start[li], nv.end[li]), g)
            r.span_ranges = _top(nv.name[li], iv.overlap(span, nv.start[li], nv.end[li]), g)
        oi = os_groups.get(t)
        if oi is not None and o_gap:
            r.gap_os_calls = _top(g.osrt.name[oi],
                                  iv.overlap(gaps, g.osrt.start[oi], g.osrt.end[oi]), g)

    flows: dict[tuple[Thread, Thread], int] = {}
    cross = (nv.kind == START_END) & (nv.end_tid != nv.tid) & (nv.end_tid >= 0)
    cross &= (nv.end > use.start) & (nv.start < use.end)
    for a, b, p in zip(nv.tid[cross].tolist(), nv.end_tid[cross].tolist(),
                       nv.pid[cross].tolist(), strict=True):
        flows[((p, a), (p, b))] = flows.get(((p, a), (p, b)), 0) + 1

    after = 0
    if launcher is not None and use.gap_count:
        li = rt_groups.get(launcher.key, np.zeros(0, np.int64))
        blocking = li[lk.call_sync[li] | (lk.call_copy[li] & _blocking_copy(g, lk, li))]
        ends = np.sort(rt.end[blocking])
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


def _blocking_copy(g: GpuTimeline, lk: Links, calls: np.ndarray) -> np.ndarray:
    """Of these copy-launching calls, those that block the thread: a copy API without
    'Async', or an async copy from or to pageable host memory."""
    sync_api = ~_matches(g, g.runtime.name[calls], _ASYNC_NAME)
    pageable = np.zeros(calls.shape[0], bool)
    o = g.ops
    cp = (lk.op_call >= 0) & (o.kind == MEMCPY) & _pageable(g)
    if cp.any():
        pageable = np.isin(calls, lk.op_call[cp])
    return sync_api | pageable


def _pageable(g: GpuTimeline) -> np.ndarray:
    o = g.ops
    return (((o.copy_kind == COPY_HTOD) & (o.src_kind == MEM_PAGEABLE))
            | ((o.copy_kind == COPY_DTOH) & (o.dst_kind == MEM_PAGEABLE)))


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


def copy_use(g: GpuTimeline, lk: Links) -> list[CopyUse]:
    o, rt = g.ops, g.runtime
    cp = (o.kind == MEMCPY) & (lk.op_call >= 0)
    if not cp.any():
        return []
    calls = lk.op_call[cp]
    api_async = _matches(g, rt.name[calls], _ASYNC_NAME)
    pageable = _pageable(g)[cp]
    out = []
    for kind, sel in (("sync-api", ~api_async), ("pageable-async", api_async & pageable)):
        if not sel.any():
            continue
        c = np.unique(calls[sel])
        call_ns = (rt.end[c] - rt.start[c])
        labels = np.array([g.thread_label(int(p), int(t)) for p, t in zip(rt.pid[c], rt.tid[c],
                                                                          strict=True)])
        u, inv = np.unique(labels, return_inverse=True)
        per = np.bincount(inv, weights=call_ns.astype(np.float64))
        out.append(CopyUse(
            kind=kind, count=int(np.count_nonzero(sel)), bytes=int(o.bytes[cp][sel].sum()),
            gpu_ns=int((o.end - o.start)[cp][sel].sum()), call_ns=int(call_ns.sum()),
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


def stream_use(g: GpuTimeline, lk: Links) -> list[StreamUse]:
    o, rt = g.ops, g.runtime
    k = o.kind == KERNEL
    out = []
    key = (o.device.astype(np.int64) << 32) | (o.stream.astype(np.int64) & 0xFFFFFFFF)
    for kk in np.unique(key[k]).tolist():
        sel = k & (key == kk)
        s, e = o.start[sel], o.end[sel]
        calls = lk.op_call[sel]
        calls = calls[calls >= 0]
        launch = float(np.median(rt.end[calls] - rt.start[calls])) if calls.shape[0] else None
        by = _groups(rt.pid[calls], rt.tid[calls])
        top = max(by, key=lambda t: by[t].shape[0], default=None)
        who = g.thread_label(*top) if top else None
        out.append(StreamUse(
            device=int(kk >> 32), stream=int(kk & 0xFFFFFFFF), kernels=int(sel.sum()),
            span_ns=int(e.max() - s.min()), busy_ns=iv.total(iv.union(s, e)),
            median_kernel_ns=float(np.median(e - s)), median_launch_ns=launch, launcher=who,
        ))
    return out


@dataclass
class RangeGpu:
    name: str
    instances: int
    range_ns: int  # summed duration of the ranges
    gpu_ns: int  # GPU time of the operations launched inside them
    ops: int


def nvtx_gpu_time(g: GpuTimeline, lk: Links, top: int = 20) -> list[RangeGpu]:
    """GPU time projected onto the NVTX ranges that launched it: each range gets the GPU
    time of the operations launched by calls made on its thread between its start and end
    (nested ranges each count what they hold)."""
    nv, rt = g.nvtx, g.runtime
    if not len(nv) or not len(rt):
        return []
    gpu = np.zeros(len(nv), np.int64)
    ops = np.zeros(len(nv), np.int64)
    rt_groups = _groups(rt.pid, rt.tid)
    for t, ri in _groups(nv.pid, nv.tid).items():
        ci = rt_groups.get(t)
        if ci is None:
            continue
        ci = ci[np.argsort(rt.start[ci], kind="stable")]
        cg = np.concatenate([[0], np.cumsum(lk.call_gpu_ns[ci])])
        co = np.concatenate([[0], np.cumsum(lk.call_ops[ci])])
        a = np.searchsorted(rt.start[ci], nv.start[ri], side="left")
        b = np.searchsorted(rt.start[ci], nv.end[ri], side="right")
        gpu[ri] = cg[b] - cg[a]
        ops[ri] = co[b] - co[a]
    names, inv = np.unique(nv.name, return_inverse=True)
    tot = np.bincount(inv, weights=gpu.astype(np.float64))
    cnt = np.bincount(inv)
    rng = np.bincount(inv, weights=(nv.end - nv.start).astype(np.float64))
    nops = np.bincount(inv, weights=ops.astype(np.float64))
    order = [i for i in np.argsort(-tot) if tot[i] > 0][:top]
    return [RangeGpu(g.string(int(names[i])), int(cnt[i]), int(rng[i]), int(tot[i]),
                     int(nops[i])) for i in order]
