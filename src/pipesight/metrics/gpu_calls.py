"""The OS runtime, GIL and video codec calls that can matter to what the threads did around
the GPU, in one streamed pass after the operations (the CUDA calls come with the operations:
``gpu_join``).

A run makes millions of calls (OS calls in polling loops); the thread view needs few: those that
overlap an idle gap of the GPU, the waits inside a thread's own NVTX ranges (they are taken out
of its busy time), and how many calls each thread made. Everything else is counted and dropped
as it streams past.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu_scan import OpScan
from pipesight.trace.gpu import (
    START_END,
    CallChunk,
    Calls,
    GpuTimeline,
    split_thread_key,
    thread_key,
)

Thread = tuple[int, int]  # (pid, tid)


@dataclass
class CallFacts:
    """The calls kept, per kind, as Calls tables (pid, tid, start, end, name), and counts."""

    runtime_threads: list[int] = field(default_factory=list)  # thread_keys with CUDA calls
    sync: Calls = field(default_factory=Calls.empty)  # every synchronizing CUDA call
    other: Calls = field(default_factory=Calls.empty)  # other CUDA calls overlapping a gap
    blocking_end: dict[int, np.ndarray] = field(default_factory=dict)  # launcher -> ends
    osrt: Calls = field(default_factory=Calls.empty)
    osrt_threads: list[int] = field(default_factory=list)
    gil: Calls = field(default_factory=Calls.empty)
    gil_threads: list[int] = field(default_factory=list)
    video: Calls = field(default_factory=Calls.empty)
    video_calls: dict[int, int] = field(default_factory=dict)  # thread_key -> calls made
    own: dict[int, iv.Set] = field(default_factory=dict)  # thread_key -> its own NVTX ranges


def own_range_sets(g: GpuTimeline) -> dict[int, iv.Set]:
    """Per thread_key: the union of the NVTX ranges the thread opened and closed itself."""
    nv = g.nvtx
    if not len(nv):
        return {}
    own = (nv.kind != START_END) | (nv.end_tid == nv.tid)
    pid, tid, s, e = nv.pid, nv.tid, nv.start, nv.end
    if not own.all():
        pid, tid, s, e = pid[own], tid[own], s[own], e[own]
    if not pid.shape[0]:
        return {}
    if int(pid.min()) == int(pid.max()) and int(tid.min()) == int(tid.max()):  # one thread
        return {int(thread_key(pid[:1], tid[:1])[0]): iv.union(s, e)}
    key = thread_key(pid, tid)
    out = {}
    for k in np.unique(key).tolist():
        m = key == k
        out[int(k)] = iv.union(s[m], e[m])
    return out


def _calls(start: np.ndarray, end: np.ndarray, thread: np.ndarray, name: np.ndarray
           ) -> Calls:
    pid, tid = split_thread_key(thread)
    c = Calls(start=start, end=end, pid=pid, tid=tid, name=name.astype(np.int32),
              correlation=np.full(start.shape[0], -1, np.int64))
    return c.take(np.argsort(c.start, kind="stable"))


def _joined(parts: list[tuple[np.ndarray, ...]], n: int) -> list[np.ndarray]:
    if not parts:
        return [np.zeros(0, np.int64) for _ in range(n)]
    return [np.concatenate([p[i] for p in parts]) for i in range(n)]


class _Keep:
    """Rows of one kind of call kept as they stream past."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, ch: CallChunk, sel: np.ndarray) -> None:
        if sel.any():
            self.parts.append((ch.start[sel], ch.end[sel], ch.thread[sel], ch.name[sel]))

    def calls(self) -> Calls:
        return _calls(*_joined(self.parts, 4))


def _touches(st: iv.Set, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    return iv.overlap(st, s, e) > 0 if st[0].shape[0] else np.zeros(s.shape[0], bool)


def scan_calls(g: GpuTimeline, ops: OpScan, gaps: iv.Set, launchers: set[int]) -> CallFacts:
    """``gaps``: the idle gaps of every device, as one set; ``launchers``: the thread_keys of
    the threads that launch each device's work."""
    if g.source is None:
        raise ValueError("a GPU timeline without its export cannot be measured")
    facts = CallFacts()
    rt = ops.runtime
    facts.runtime_threads = sorted(rt.threads)
    seq, s, e, t = _joined(rt.sync, 4)
    facts.sync = _calls(s, e, t, np.full(s.shape[0], -1))
    os_, oe, ot = _joined(rt.other, 3)
    facts.other = _calls(os_, oe, ot, np.full(os_.shape[0], -1))
    # the launching threads' blocking calls: synchronization, and copies that block (an API
    # without Async, or an asynchronous copy from or to pageable memory)
    cp = ops.copies
    blocking_copy = ~cp.call_async
    paged = np.unique(cp.call[cp.pageable])
    blocking_copy |= np.isin(cp.call, paged)
    for k in launchers:
        mine = t == k
        cm = (cp.call_thread == k) & blocking_copy
        ids = np.concatenate([seq[mine], cp.call[cm]])
        ends = np.concatenate([e[mine], cp.call_start[cm] + cp.call_dur[cm]])
        _, first = np.unique(ids, return_index=True)  # a call counts once
        facts.blocking_end[k] = np.sort(ends[first])
    facts.own = own = own_range_sets(g)
    with g.source.session(g) as sess:
        facts.osrt, facts.osrt_threads, _ = _waits(sess, "osrt", gaps, own)
        facts.gil, facts.gil_threads, _ = _waits(sess, "gil", gaps, own)
        facts.video, _, facts.video_calls = _waits(sess, "video", gaps, own)
    return facts


def _waits(sess, group: str, gaps: iv.Set, own: dict[int, iv.Set]
           ) -> tuple[Calls, list[int], dict[int, int]]:
    """Calls of one kind that overlap a gap or their thread's own ranges; the threads that
    made any, and how many each."""
    keep = _Keep()
    counts: dict[int, int] = {}
    for ch in sess.call_stream(group).chunks():
        sel = _touches(gaps, ch.start, ch.end)
        u, c = np.unique(ch.thread, return_counts=True)
        for t, n in zip(u.tolist(), c.tolist(), strict=True):
            counts[t] = counts.get(t, 0) + n
            st = own.get(t)
            if st is not None:
                m = ch.thread == t
                sel[m] |= _touches(st, ch.start[m], ch.end[m])
        keep.add(ch, sel)
    return keep.calls(), sorted(counts), counts
