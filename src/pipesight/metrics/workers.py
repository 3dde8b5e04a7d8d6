"""Worker threads an element starts (libav's frame threads, an encoder's slice threads): they
make no pad pushes, so the tracer never sees them, and they share the name of the streaming
thread that started them (a new thread takes its creator's name, cut to 15 characters), so
the kernel's accounting shows them only as more threads called, say, "queue0:src".

Each such thread is charged to one element of the streaming thread of its name:
1. one that had run on that thread by the time the worker started (the kernel gives the start
   to its tick): code that had not run yet cannot have started it;
2. of those, one that says it may run threads of its own (a thread-count property such as
   max-threads, n-threads or threads set to more than one, or 0 for one per core);
3. of those still several, the one whose own time on the streaming thread covers most of the
   sample intervals in which the worker used its CPU (a worker computes while the element
   waits for it), and which covers most of them.
Where no element passes, the thread stays uncharged (the verdict's threads table lists it).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.knobs import THREAD_PROPS, thread_count
from pipesight.metrics import intervals
from pipesight.metrics.activity import Activity
from pipesight.metrics.cpu import CpuSummary
from pipesight.metrics.window import Window
from pipesight.trace import Trace

COMM_CHARS = 15  # the kernel keeps 15 characters of a thread's name
# of a worker's CPU, the share that must fall in the element's own time on the streaming
# thread when no thread-count property tells the element apart
INSIDE = 0.5


@dataclass
class Worker:
    os_tid: int
    name: str
    thread: int  # the streaming thread that started it (index into Trace.threads)
    element: int  # the element it is charged to
    cpu_fraction: float  # of one core, over the window
    inside_share: float  # of its CPU, the share in sample intervals the element's own time covers
    basis: str  # why this element, in words


@dataclass
class _Candidate:
    element: int
    thread: int
    first_call: int  # ns, its first call on the thread
    threads_prop: bool
    share: float = 0.0


def worker_threads(trace: Trace, w: Window, cpu: CpuSummary | None,
                   act: Activity | None) -> list[Worker]:
    cs, fr = trace.cpu, trace.frames
    if cpu is None or cs is None or fr is None or act is None or act.basis != "exact":
        return []
    by_name: dict[str, list[int]] = {}
    streaming = set()
    for t in trace.threads:
        if t.os_tid is not None and t.name:
            by_name.setdefault(t.name[:COMM_CHARS], []).append(t.index)
            streaming.add(t.os_tid)
    out = []
    for tid, tc in cpu.threads.items():
        creators = by_name.get(tc.name[:COMM_CHARS], [])
        if tid in streaming or not creators or tc.cpu_fraction <= 0:
            continue
        found = _charge(trace, w, act, tid, creators)
        if found is not None:
            c, basis = found
            out.append(Worker(tid, tc.name, c.thread, c.element, tc.cpu_fraction, c.share,
                              basis))
    return sorted(out, key=lambda x: -x.cpu_fraction)


def may_start_threads(props: dict) -> bool:
    """A thread-count property (knobs.THREAD_PROPS) that lets the element run threads of its
    own: more than one, or 0 / "auto" (one per core)."""
    for key in THREAD_PROPS:
        if key in props and not isinstance(props[key], bool):
            n = thread_count(props[key], cores=2)
            if n is not None and n > 1:
                return True
    return False


def _charge(trace: Trace, w: Window, act: Activity, tid: int, creators: list[int]
            ) -> tuple[_Candidate, str] | None:
    cs, fr = trace.cpu, trace.frames
    assert cs is not None and fr is not None
    start = cs.started.get(tid)
    cands = []
    for (e, t), v in act.per.items():
        if t not in creators or v.role not in ("process", "produce"):
            continue
        mine = (fr.thread == t) & (fr.element == e)
        first = int(fr.start[mine].min()) if mine.any() else None
        if first is None or (start is not None and first > start + cs.start_resolution_ns):
            continue  # it had not run when the worker started
        el = trace.topology.element(e)
        cands.append(_Candidate(e, t, first, may_start_threads(el.props if el else {})))
    if not cands:
        return None
    sel = (cs.os_tid == tid) & (cs.ts >= w.start) & (cs.ts <= w.end)
    ts, used = cs.ts[sel], np.diff(cs.cpu_ns[sel]).astype(float)
    if ts.shape[0] < 2 or used.sum() <= 0:
        return None
    for c in cands:
        c.share = _share_in_own_time(trace, c, ts, used)
    props = [c for c in cands if c.threads_prop]
    if len(props) == 1:
        return props[0], "the only element on its thread with a thread-count property"
    pool = props or cands
    best = max(pool, key=lambda c: c.share)
    if best.share < INSIDE:
        return None
    why = "of the elements with a thread-count property, " if props else ""
    return best, f"{why}the one whose own time covers most of the worker's CPU"


def _share_in_own_time(trace: Trace, c: _Candidate, ts: np.ndarray, used: np.ndarray) -> float:
    """Of the worker's CPU, the share weighted by how much of each sample interval the
    element's own time (its calls less the calls nested in them) covers."""
    fr = trace.frames
    assert fr is not None
    mine = np.flatnonzero((fr.thread == c.thread) & (fr.element == c.element))
    inside = intervals.union(fr.start[mine], fr.end[mine])
    nested = np.isin(fr.parent, mine) & (fr.thread == c.thread)
    own = intervals.subtract(inside, intervals.union(fr.start[nested], fr.end[nested]))
    spans = np.maximum(ts[1:] - ts[:-1], 1)
    return float((used * intervals.overlap(own, ts[:-1], ts[1:]) / spans).sum() / used.sum())
