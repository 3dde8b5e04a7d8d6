"""The API calls that can matter to what the threads did around the GPU, in one streamed pass.

A run makes millions of calls (a launch per kernel, OS calls in polling loops); the thread view
needs few of them: CUDA synchronization (all of it: a thread waiting for the GPU), calls that
overlap an idle gap of the GPU, OS and GIL waits inside a thread's own NVTX ranges (they are
taken out of its busy time), the launching threads' blocking calls, and how many calls each
thread made. Everything else is counted and dropped as it streams past.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu_scan import OpScan
from pipesight.model.gpu import (
    START_END,
    CallChunk,
    Calls,
    GpuTimeline,
    split_thread_key,
    thread_key,
)

Thread = tuple[int, int]  # (pid, tid)
SYNC_NAME = re.compile(r"Synchronize", re.IGNORECASE)
ASYNC_NAME = re.compile(r"Async", re.IGNORECASE)


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


class _Names:
    """Whether each string matches a pattern, each distinct string tested once."""

    def __init__(self, g: GpuTimeline, rx: re.Pattern) -> None:
        self.g, self.rx = g, rx
        self.known: dict[int, bool] = {}

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        if not ids.shape[0]:
            return np.zeros(0, bool)
        u, inv = np.unique(ids, return_inverse=True)
        hit = np.array([self.known.setdefault(i, bool(self.rx.search(self.g.string(i))))
                        for i in u.tolist()], bool)
        return hit[inv]


def own_range_sets(g: GpuTimeline) -> dict[int, iv.Set]:
    """Per thread_key: the union of the NVTX ranges the thread opened and closed itself."""
    nv = g.nvtx
    own = (nv.kind != START_END) | (nv.end_tid == nv.tid)
    key = thread_key(nv.pid[own], nv.tid[own])
    s, e = nv.start[own], nv.end[own]
    out = {}
    for k in np.unique(key).tolist():
        m = key == k
        out[int(k)] = iv.union(s[m], e[m])
    return out


class _Keep:
    """Rows of one kind of call kept as they stream past."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(self, ch: CallChunk, sel: np.ndarray) -> None:
        if sel.any():
            self.parts.append((ch.start[sel], ch.end[sel], ch.thread[sel], ch.name[sel]))

    def calls(self) -> Calls:
        if not self.parts:
            return Calls.empty()
        s, e, t, n = (np.concatenate([p[i] for p in self.parts]) for i in range(4))
        pid, tid = split_thread_key(t)
        c = Calls(start=s, end=e, pid=pid, tid=tid, name=n.astype(np.int32),
                  correlation=np.full(s.shape[0], -1, np.int64))
        return c.take(np.argsort(c.start, kind="stable"))


def _touches(st: iv.Set, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    return iv.overlap(st, s, e) > 0 if st[0].shape[0] else np.zeros(s.shape[0], bool)


def scan_calls(g: GpuTimeline, ops: OpScan, gaps: iv.Set, launchers: set[int]) -> CallFacts:
    """``gaps``: the idle gaps of every device, as one set; ``launchers``: the thread_keys of
    the threads that launch each device's work."""
    if g.source is None:
        raise ValueError("a GPU timeline without its export cannot be measured")
    facts = CallFacts()
    own = own_range_sets(g)
    sync_name, async_name = _Names(g, SYNC_NAME), _Names(g, ASYNC_NAME)
    cp = ops.copies
    copy_rids = np.unique(cp.call)
    pageable_rids = np.unique(cp.call[cp.pageable])
    with g.source.session(g) as sess:
        chosen = sess.chosen_calls(g.sync.pid, g.sync.correlation) if len(g.sync) else \
            np.zeros(0, np.int64)
        sync_rids = np.unique(chosen[chosen >= 0])
        threads: set[int] = set()
        sync, other = _Keep(), _Keep()
        blocking: dict[int, list[np.ndarray]] = {}
        for ch in sess.call_chunks("runtime"):
            threads.update(np.unique(ch.thread).tolist())
            is_sync = sync_name(ch.name) | np.isin(ch.rid, sync_rids)
            sync.add(ch, is_sync)
            other.add(ch, ~is_sync & _touches(gaps, ch.start, ch.end))
            for t in launchers:
                mine = ch.thread == t
                if not mine.any():
                    continue
                copy = np.isin(ch.rid, copy_rids) & (~async_name(ch.name)
                                                     | np.isin(ch.rid, pageable_rids))
                b = mine & (is_sync | copy)
                if b.any():
                    blocking.setdefault(t, []).append(ch.end[b])
        facts.runtime_threads = sorted(threads)
        facts.sync, facts.other = sync.calls(), other.calls()
        facts.blocking_end = {t: np.sort(np.concatenate(v)) for t, v in blocking.items()}
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
    for ch in sess.call_chunks(group):
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
