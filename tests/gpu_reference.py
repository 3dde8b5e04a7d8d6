"""The GPU metrics as pipesight computed them before the export was streamed (whole tables in
memory, numpy only), kept as the reference the streamed metrics must equal, number for number.
Used only by tests."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu import CHUNKS, GAP_MIN_NS, NSYS_GPU_OVERHEAD, DeviceUse
from pipesight.metrics.gpu_threads import (
    AFTER_WAIT_NS,
    BEFORE_WAIT_NS,
    CopyUse,
    DeviceThreads,
    RangeGpu,
    StreamUse,
    Thread,
    ThreadRow,
)
from pipesight.trace.gpu import (
    COPY_DTOH,
    COPY_HTOD,
    GRAPH,
    KERNEL,
    MEM_PAGEABLE,
    MEMCPY,
    MEMSET,
    START_END,
    Calls,
    GpuTimeline,
)

_SYNC_NAME = re.compile(r"Synchronize", re.IGNORECASE)
_ASYNC_NAME = re.compile(r"Async", re.IGNORECASE)

def op_intervals(g: GpuTimeline, device: int, pid: int | None = None,
                 overhead: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Raw [start, end) of what nsys counts as GPU time on a device (one process, or all):
    kernels, copies and memsets, with the profiler overhead each process paid inside its own
    span on that device."""
    o = g.ops
    sel = (o.device == device) & np.isin(o.kind, (KERNEL, MEMCPY, MEMSET))
    if pid is not None:
        sel &= o.pid == pid
    starts, ends = [o.start[sel]], [o.end[sel]]
    if overhead and len(g.overhead):
        names = [i for i, s in enumerate(g.strings) if s in NSYS_GPU_OVERHEAD]
        ov = g.overhead.take(np.isin(g.overhead.name, names)) if names else None
        if ov is not None and len(ov):
            for p in np.unique(o.pid[sel]).tolist():
                mine = sel & (o.pid == p)
                lo, hi = int(o.start[mine].min()), int(o.end[mine].max())
                inside = (ov.pid == p) & (ov.start > lo) & (ov.end < hi)
                starts.append(ov.start[inside])
                ends.append(ov.end[inside])
    return np.concatenate(starts), np.concatenate(ends)


def device_use(g: GpuTimeline, device: int, gap_min_ns: int = GAP_MIN_NS,
               chunks: int = CHUNKS) -> DeviceUse | None:
    s, e = op_intervals(g, device)
    if s.shape[0] == 0:
        return None
    busy = iv.union(s, e)
    hs, he = iv.gaps(busy)
    big = (he - hs) >= gap_min_ns
    o = g.ops
    on = o.device == device
    lo, hi = int(busy[0][0]), int(busy[1][-1])
    n = max(1, min(chunks, (hi - lo) // max(gap_min_ns, 1)))
    edges = np.linspace(lo, hi, n + 1).round().astype(np.int64)
    width = np.maximum(np.diff(edges), 1)
    return DeviceUse(
        device=device,
        name=g.device_names.get(device),
        start=lo,
        end=hi,
        busy_ns=iv.total(busy),
        kernels=int(np.count_nonzero(on & (o.kind == KERNEL))),
        copies=int(np.count_nonzero(on & (o.kind == MEMCPY))),
        memsets=int(np.count_nonzero(on & (o.kind == MEMSET))),
        kernel_ns=int((o.end - o.start)[on & (o.kind == KERNEL)].sum()),
        graph_ops=int(np.count_nonzero(on & ((o.graph_node >= 0) | (o.graph >= 0)
                                             | (o.kind == GRAPH)))),
        gap_min_ns=gap_min_ns,
        gap_start=hs[big],
        gap_end=he[big],
        all_idle_ns=int((he - hs).sum()),
        chunk_edges=edges,
        chunk_busy=iv.summed_overlap(busy[0], busy[1], edges) / width,
    )



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


def gap_enders(g: GpuTimeline, use: DeviceUse, lk: Links) -> np.ndarray:
    """Per gap, the thread (thread_key) of the call that launched the operation starting at
    the gap's end; -1 where no call was found."""
    o = g.ops
    sel = (o.device == use.device) & np.isin(o.kind, (KERNEL, MEMCPY, MEMSET))
    idx = np.flatnonzero(sel)
    out = np.full(use.gap_count, -1, np.int64)
    rt = g.runtime
    for k, e in enumerate(use.gap_end.tolist()):
        at = idx[o.start[idx] == e]
        calls = lk.op_call[at]
        calls = calls[calls >= 0]
        if calls.shape[0]:
            c = int(calls[0])
            out[k] = (int(rt.pid[c]) << 24) | int(rt.tid[c])
    return out


def reference_view(g: GpuTimeline, gap_min_ns: int = GAP_MIN_NS) -> dict:
    """Everything compute_gpu measured, the way it measured it before streaming."""
    devs = [u for u in (device_use(g, d, gap_min_ns) for d in g.devices) if u is not None]
    lk = links(g)
    for u in devs:
        u.gap_ender = gap_enders(g, u, lk)
    return {"devices": devs, "threads": {u.device: device_threads(g, u, lk) for u in devs},
            "copies": copy_use(g, lk), "streams": stream_use(g, lk), "nvtx": nvtx_gpu_time(g, lk)}
