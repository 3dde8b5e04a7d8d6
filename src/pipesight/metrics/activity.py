"""Where each streaming thread's time went, element by element, inside the window.

With entry/return records (pipeline's own tracer) the accounting is exact: each frame's self
time is the element's work on one push, and waiting is told apart from working by the thread's
CPU clock. With only GStreamer's stats tracer, an element's time per buffer is estimated from
the interval between the push into it and its own next push on the same thread, which is right
only for one-in/one-out elements that push from the thread they receive on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics.window import Window, sink_elements, source_elements
from pipesight.trace import Trace


@dataclass
class ElementThreadTime:
    element: int
    thread: int
    wall_ns: int = 0  # all time attributed to the element on this thread
    cpu_ns: int = 0
    wait_ns: int = 0  # of wall: waiting on a queue (full downstream / empty upstream)
    # of wall but not on the CPU: in calls where the thread blocked (it waited: clock, device,
    # lock, a queue) or not (it was runnable but preempted)
    blocked_ns: int = 0
    preempted_ns: int = 0
    calls: int = 0
    buffers: int = 0
    role: str = "process"  # process | enqueue | loop | produce


@dataclass
class ThreadTime:
    thread: int
    covered_ns: int = 0  # time inside the window that records account for
    wait_ns: int = 0  # waiting on queues: the thread could have done more
    cpu_ns: int = 0
    preempted_ns: int = 0  # runnable but not running
    busy_fraction: float = 0.0  # (covered - wait) / window
    owner: int | None = None


@dataclass
class Activity:
    basis: str  # "exact", "estimated" or "none"
    window: Window
    per: dict[tuple[int, int], ElementThreadTime] = field(default_factory=dict)
    threads: dict[int, ThreadTime] = field(default_factory=dict)
    # per element: per-buffer processing samples (ns), for mean / percentiles
    samples: dict[int, np.ndarray] = field(default_factory=dict)
    cpu_samples: dict[int, np.ndarray] = field(default_factory=dict)
    boundary: set[int] = field(default_factory=set)  # elements that hand buffers to a new thread
    sources: set[int] = field(default_factory=set)
    sinks: set[int] = field(default_factory=set)

    def main_thread(self, eid: int) -> int | None:
        best, best_t = -1, None
        for (e, t), v in self.per.items():
            if e == eid and v.wall_ns - v.wait_ns > best:
                best, best_t = v.wall_ns - v.wait_ns, t
        return best_t


def compute_activity(trace: Trace, window: Window) -> Activity:
    sinks = set(sink_elements(trace))
    sources = set(source_elements(trace))
    if trace.has_frames:
        act = _exact(trace, window)
    elif len(trace.flow):
        act = _estimated(trace, window)
    else:
        act = Activity("none", window)
    act.sinks, act.sources = sinks, sources
    return act


def _exact(trace: Trace, w: Window) -> Activity:
    fr = trace.frames
    out = trace.outside
    assert fr is not None and out is not None
    act = Activity("exact", w)
    owners = {t.index: t.owner for t in trace.threads if t.owner is not None}
    receivers = set(np.unique(fr.element[fr.element >= 0]).tolist())
    # an element that owns a thread and also receives buffers hands them over to that thread
    act.boundary = {e for e in owners.values() if e in receivers}

    sel = w.contains(fr.start) & (fr.element >= 0)
    el, th = fr.element[sel], fr.thread[sel]
    wall, cpu, cnt = fr.self_wall[sel], fr.self_cpu[sel], fr.count[sel]
    _accumulate(act, el, th, wall, cpu, cnt, fr.blocked[sel],
                role_of=lambda e: "enqueue" if e in act.boundary else "process")
    # per-buffer samples of processing elements
    nonb = ~np.isin(el, list(act.boundary)) if act.boundary else np.ones(el.shape[0], bool)
    per_buf = wall / np.maximum(cnt, 1)
    per_cpu = cpu / np.maximum(cnt, 1)
    _samples(act, el[nonb], per_buf[nonb], per_cpu[nonb])

    osel = w.contains(out.start) & (out.owner >= 0)
    o_el, o_th = out.owner[osel], out.thread[osel]
    o_wall = np.minimum(out.end[osel], w.end) - out.start[osel]
    o_cpu = np.minimum(out.cpu[osel], np.maximum(o_wall, 0))
    _accumulate(act, o_el, o_th, o_wall, o_cpu, np.ones(o_el.shape[0], np.int32),
                out.blocked[osel],
                role_of=lambda e: "loop" if e in act.boundary else "produce", outside=True)
    # a source's own time per buffer is the time between its pushes
    src_mask = ~np.isin(o_el, list(act.boundary)) if act.boundary else np.ones(o_el.shape[0], bool)
    _samples(act, o_el[src_mask], o_wall[src_mask].astype(float),
             o_cpu[src_mask].astype(float))

    for (_, t), v in act.per.items():
        tt = act.threads.setdefault(t, ThreadTime(t, owner=owners.get(t)))
        tt.covered_ns += v.wall_ns
        tt.wait_ns += v.wait_ns
        tt.cpu_ns += v.cpu_ns
        tt.preempted_ns += v.preempted_ns
    for tt in act.threads.values():
        tt.busy_fraction = max(tt.covered_ns - tt.wait_ns, 0) / max(w.end - w.start, 1)
    return act


def _accumulate(act: Activity, el: np.ndarray, th: np.ndarray, wall: np.ndarray,
                cpu: np.ndarray, cnt: np.ndarray, blocked: np.ndarray | None, role_of,
                outside: bool = False) -> None:
    if el.shape[0] == 0:
        return
    key = el.astype(np.int64) * 1_000_003 + th.astype(np.int64)
    uk, inv = np.unique(key, return_inverse=True)
    s_wall = np.bincount(inv, weights=wall.astype(float))
    s_cpu = np.bincount(inv, weights=cpu.astype(float))
    s_cnt = np.bincount(inv, weights=cnt.astype(float))
    s_calls = np.bincount(inv)
    off_cpu = np.maximum(wall - cpu, 0).astype(float)
    did_block = (blocked > 0) if blocked is not None else np.zeros(el.shape[0], bool)
    s_wait = np.bincount(inv, weights=waiting_ns(el, wall, cpu, blocked, act.boundary))
    s_blocked = np.bincount(inv, weights=np.where(did_block, off_cpu, 0.0))
    s_preempt = np.bincount(inv, weights=np.where(did_block, 0.0, off_cpu))
    for i, k in enumerate(uk.tolist()):
        e, t = divmod(k, 1_000_003)
        cur = act.per.get((e, t))
        if cur is None:
            cur = act.per[(e, t)] = ElementThreadTime(e, t, role=role_of(e))
        elif outside:
            cur.role = role_of(e)
        cur.wall_ns += int(s_wall[i])
        cur.cpu_ns += int(s_cpu[i])
        cur.wait_ns += int(s_wait[i])
        cur.blocked_ns += int(s_blocked[i])
        cur.preempted_ns += int(s_preempt[i])
        cur.calls += int(s_calls[i])
        if not outside:
            cur.buffers += int(s_cnt[i])


def waiting_ns(el: np.ndarray, wall: np.ndarray, cpu: np.ndarray, blocked: np.ndarray | None,
               boundary: set[int]) -> np.ndarray:
    """Of each record's wall time, what was waiting on a queue: a hand-over element's calls
    (its chain on the upstream thread, its loop on its own) in which the thread blocked (a
    voluntary context switch). Time off the CPU without blocking is preemption, not waiting."""
    waiting = np.zeros(el.shape[0], float)
    if not boundary or blocked is None:
        return waiting
    idle = np.isin(el, list(boundary)) & (blocked > 0)
    waiting[idle] = np.maximum(wall - cpu, 0)[idle]
    return waiting


def _samples(act: Activity, el: np.ndarray, wall: np.ndarray, cpu: np.ndarray) -> None:
    if el.shape[0] == 0:
        return
    order = np.argsort(el, kind="stable")
    els = el[order]
    cuts = np.flatnonzero(np.diff(els)) + 1
    for part_w, part_c, e in zip(np.split(wall[order], cuts), np.split(cpu[order], cuts),
                                 els[np.concatenate([[0], cuts])], strict=True):
        e = int(e)
        if e in act.samples:
            act.samples[e] = np.concatenate([act.samples[e], part_w])
            act.cpu_samples[e] = np.concatenate([act.cpu_samples[e], part_c])
        else:
            act.samples[e] = part_w.astype(float)
            act.cpu_samples[e] = part_c.astype(float)


def _estimated(trace: Trace, w: Window) -> Activity:
    """Stats-tracer logs: a buffer pushed into B at t1 and B's next push on the same thread
    at t2 give B about t2 - t1 for that buffer."""
    fl = trace.flow
    act = Activity("estimated", w)
    push = fl.mode == 0
    order = np.lexsort((fl.ts, fl.thread))
    order = order[push[order]]
    th = fl.thread[order]
    ts = fl.ts[order]
    src = fl.src_element[order]
    dst = fl.dst_element[order]
    if order.shape[0] < 2:
        return act
    same = th[1:] == th[:-1]
    chained = same & (src[1:] == dst[:-1]) & (dst[:-1] >= 0)
    dt = (ts[1:] - ts[:-1])[chained]
    el = dst[:-1][chained]
    tt = th[:-1][chained]
    inw = w.contains(ts[:-1][chained])
    el, tt, dt = el[inw], tt[inw], dt[inw]
    _accumulate(act, el, tt, dt, dt, np.ones(el.shape[0], np.int32), None,
                role_of=lambda e: "process")
    # without a CPU clock, nothing can be told to be waiting: shares are upper bounds
    for v in act.per.values():
        v.cpu_ns = 0
    _samples(act, el, dt.astype(float), np.full(dt.shape[0], np.nan))
    for (_, t), v in act.per.items():
        tt_ = act.threads.setdefault(t, ThreadTime(t))
        tt_.covered_ns += v.wall_ns
    for t_ in act.threads.values():
        t_.busy_fraction = t_.covered_ns / max(w.end - w.start, 1)
    return act
