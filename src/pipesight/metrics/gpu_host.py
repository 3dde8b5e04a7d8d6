"""What the GStreamer side did while the GPU sat idle.

pipesight's tracer records (every push and probe span of every streaming thread, with the
thread's CPU clock) are laid on the Nsight Systems timeline through ``Trace.gpu_clock``. For
each device's idle gaps this gives, per streaming thread, the time inside each element or pad
probe and what kind of time it was: working, blocked (off the CPU without a queue: a lock, the
GIL, the device), waiting for room in a full queue, or for data from an empty one. The thread
whose CUDA call ended each gap comes from the export (``DeviceUse.gap_ender``). No NVTX range
of the application's is needed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu import DeviceUse
from pipesight.metrics.gpu_view import GpuView
from pipesight.trace import Trace
from pipesight.trace.clock import ClockMap

WORK, BLOCKED, QUEUE_FULL, QUEUE_EMPTY = "work", "blocked", "queue-full", "queue-empty"


@dataclass
class Stage:
    element: int  # element or pad-probe pseudo-element id
    state: str  # WORK, BLOCKED, QUEUE_FULL (waiting for room), QUEUE_EMPTY (waiting for data)
    ns: int  # of the gaps' time, on this thread


@dataclass
class HostThread:
    thread: int  # index into Trace.threads
    pid: int | None
    os_tid: int | None
    traced_ns: int = 0  # of the gaps' time, what the tracer accounts for on this thread
    stages: list[Stage] = field(default_factory=list)  # most time first
    ended_gaps: int = 0  # gaps ended by an operation this thread's CUDA call launched

    def state_ns(self, state: str) -> int:
        return sum(s.ns for s in self.stages if s.state == state)

    def top(self, *states: str) -> Stage | None:
        return next((s for s in self.stages if s.state in states), None)


@dataclass
class HostGaps:
    device: int
    clock: ClockMap
    gaps: int  # idle gaps inside the traced span
    gap_ns: int
    threads: dict[int, HostThread]

    def ender(self) -> HostThread | None:
        """The thread whose launches ended most of the gaps."""
        best = max(self.threads.values(), key=lambda t: t.ended_gaps, default=None)
        return best if best is not None and best.ended_gaps > 0 else None


def host_gaps(trace: Trace, gv: GpuView | None) -> dict[int, HostGaps]:
    m = trace.gpu_clock
    if gv is None or m is None or not trace.has_frames:
        return {}
    return {u.device: _device(trace, u, m) for u in gv.devices}


def _device(trace: Trace, u: DeviceUse, m: ClockMap) -> HostGaps:
    fr, out = trace.frames, trace.outside
    assert fr is not None and out is not None
    lo, hi = int(fr.start.min()), int(fr.end.max())
    gs, ge = m.back(u.gap_start), m.back(u.gap_end)
    inside = (ge > lo) & (gs < hi)
    gaps: iv.Set = (np.maximum(gs[inside], lo), np.minimum(ge[inside], hi))
    res = HostGaps(u.device, m, int(inside.sum()), iv.total(gaps), {})
    if not res.gaps:
        return res
    by_thread = _threads(trace)
    # each frame's own time inside the gaps: its overlap less its children's
    ov = iv.overlap(gaps, fr.start, fr.end).astype(np.float64)
    child = fr.parent >= 0 if fr.parent.shape[0] == len(fr) else np.zeros(len(fr), bool)
    own = ov - np.bincount(fr.parent[child], weights=ov[child], minlength=len(fr))
    own = np.maximum(own, 0.0)
    boundary = _boundary(trace)
    cpu_share = np.clip(fr.self_cpu / np.maximum(fr.self_wall, 1), 0.0, 1.0)
    waited = np.where(fr.blocked > 0, 1.0 - cpu_share, 0.0)
    is_q = np.isin(fr.element, list(boundary)) if boundary else np.zeros(len(fr), bool)
    _add(res, by_thread, fr.thread, fr.element, own * (1 - waited), WORK)
    _add(res, by_thread, fr.thread, fr.element, np.where(is_q, 0.0, own * waited), BLOCKED)
    _add(res, by_thread, fr.thread, fr.element, np.where(is_q, own * waited, 0.0), QUEUE_FULL)
    # between top-level calls: a queue's loop waiting for data, or a source producing
    oo = iv.overlap(gaps, out.start, out.end).astype(np.float64)
    o_wall = np.maximum(out.end - out.start, 1)
    o_wait = np.where(out.blocked > 0, 1.0 - np.clip(out.cpu / o_wall, 0.0, 1.0), 0.0)
    o_q = np.isin(out.owner, list(boundary)) if boundary else np.zeros(len(out.start), bool)
    _add(res, by_thread, out.thread, out.owner, oo * (1 - o_wait), WORK)
    _add(res, by_thread, out.thread, out.owner, np.where(o_q, 0.0, oo * o_wait), BLOCKED)
    _add(res, by_thread, out.thread, out.owner, np.where(o_q, oo * o_wait, 0.0), QUEUE_EMPTY)
    for t in res.threads.values():
        t.stages.sort(key=lambda s: -s.ns)
        t.traced_ns = sum(s.ns for s in t.stages)
    # who ended each gap (an operation launched from a thread the tracer saw)
    enders = u.gap_ender[inside] if u.gap_ender.shape[0] == u.gap_count else np.zeros(0)
    for k, n in zip(*np.unique(enders[enders >= 0], return_counts=True), strict=True):
        key = (int(k) >> 24, int(k) & 0xFFFFFF)
        idx = by_thread.get(key)
        if idx is not None:
            res.threads.setdefault(idx, HostThread(idx, *key)).ended_gaps += int(n)
    return res


def _threads(trace: Trace) -> dict[tuple[int, int], int]:
    """(pid, os tid) -> thread index, for the threads the tracer saw."""
    out: dict[tuple[int, int], int] = {}
    for t in trace.threads:
        if t.key and ":" in t.key and t.os_tid is not None:
            pid = t.key.split(":", 1)[0]
            if pid.isdigit():
                out[(int(pid), int(t.os_tid))] = t.index
    return out


def _boundary(trace: Trace) -> set[int]:
    """Elements that hand buffers to a thread of their own (queues and the like)."""
    fr = trace.frames
    assert fr is not None
    owners = {t.owner for t in trace.threads if t.owner is not None}
    return owners & set(np.unique(fr.element[fr.element >= 0]).tolist())


def _add(res: HostGaps, by_thread: dict[tuple[int, int], int], thread: np.ndarray,
         element: np.ndarray, ns: np.ndarray, state: str) -> None:
    sel = (ns > 0) & (element >= 0)
    if not sel.any():
        return
    key = thread[sel].astype(np.int64) * 1_000_003 + element[sel].astype(np.int64)
    uk, inv = np.unique(key, return_inverse=True)
    tot = np.bincount(inv, weights=ns[sel])
    pid_of = {i: k for k, i in by_thread.items()}
    for k, v in zip(uk.tolist(), tot.tolist(), strict=True):
        t, e = divmod(k, 1_000_003)
        if v < 1:
            continue
        pt = pid_of.get(t, (None, None))
        h = res.threads.setdefault(t, HostThread(t, pt[0], pt[1]))
        h.stages.append(Stage(e, state, int(v)))
