"""Interval arithmetic on numpy arrays of [start, end) nanosecond intervals.

A *set* is a pair of sorted arrays of disjoint, non-touching intervals, as ``union`` returns.
Raw interval arrays (overlapping, unsorted) are accepted where the name says so.
"""

from __future__ import annotations

import numpy as np

Set = tuple[np.ndarray, np.ndarray]
EMPTY: Set = (np.zeros(0, np.int64), np.zeros(0, np.int64))


def union(start: np.ndarray, end: np.ndarray) -> Set:
    """The union of raw intervals; intervals that touch are merged (no gap between them)."""
    if start.shape[0] == 0:
        return EMPTY
    s = np.asarray(start, np.int64)
    e = np.asarray(end, np.int64)
    if not np.all(s[1:] >= s[:-1]):  # (often in start order already: no copies then)
        order = np.argsort(s, kind="stable")
        s, e = s[order], e[order]
    reach = np.maximum.accumulate(e)
    # a new interval begins where it starts after everything before it has ended
    new = np.empty(s.shape[0], bool)
    new[0] = True
    new[1:] = s[1:] > reach[:-1]
    first = np.flatnonzero(new)
    last = np.append(first[1:] - 1, s.shape[0] - 1)
    return s[first], reach[last]


def total(st: Set) -> int:
    return int((st[1] - st[0]).sum())


def gaps(st: Set) -> Set:
    """The holes between the intervals of a set."""
    return st[1][:-1].copy(), st[0][1:].copy()


def _covered_upto(st: Set, x: np.ndarray) -> np.ndarray:
    """For each x, the length of the set lying before x."""
    s, e = st
    if s.shape[0] == 0:
        return np.zeros(np.shape(x), np.int64)
    cum = np.concatenate([[0], np.cumsum(e - s)])
    k = np.searchsorted(s, x, side="right")  # intervals starting at or before x
    # (before the first interval nothing is covered, whatever the sign of x)
    prev_end = np.where(k > 0, e[np.maximum(k - 1, 0)], x)
    return cum[k] - np.maximum(prev_end - x, 0)


def overlap(st: Set, qs: np.ndarray, qe: np.ndarray) -> np.ndarray:
    """For each query interval [qs, qe), how much of it the set covers."""
    qs = np.asarray(qs, np.int64)
    qe = np.asarray(qe, np.int64)
    if st[0].shape[0] == 0:
        return np.zeros(qs.shape, np.int64)
    if st[0].shape[0] == 1:  # a span: the part of each query inside it
        lo, hi = int(st[0][0]), int(st[1][0])
        return np.maximum(np.minimum(qe, hi) - np.maximum(qs, lo), 0)
    return _covered_upto(st, qe) - _covered_upto(st, qs)


def _combine(a: Set, b: Set, keep) -> Set:
    pts = np.sort(np.concatenate([a[0], a[1], b[0], b[1]]))
    if pts.shape[0]:
        pts = pts[np.concatenate([[True], pts[1:] != pts[:-1]])]
    if pts.shape[0] < 2:
        return EMPTY
    lo, hi = pts[:-1], pts[1:]
    mid = lo + (hi - lo) // 2

    def inside(st: Set) -> np.ndarray:
        k = np.searchsorted(st[0], mid, side="right") - 1
        return (k >= 0) & (mid < st[1][np.maximum(k, 0)]) if st[0].shape[0] else \
            np.zeros(mid.shape, bool)

    sel = keep(inside(a), inside(b)) & (hi > lo)
    return union(lo[sel], hi[sel])


def _proper(a: Set) -> Set:
    keep = a[1] > a[0]
    return (a[0], a[1]) if keep.all() else (a[0][keep], a[1][keep])


def _clip(a: Set, lo: int, hi: int) -> Set:
    """A set cut to [lo, hi)."""
    i = int(np.searchsorted(a[1], lo, side="right"))  # the first interval ending after lo
    j = int(np.searchsorted(a[0], hi, side="left"))  # past the last one starting before hi
    if j <= i:
        return EMPTY
    s, e = a[0][i:j].copy(), a[1][i:j].copy()
    s[0] = max(int(s[0]), lo)
    e[-1] = min(int(e[-1]), hi)
    return _proper((s, e))


def subtract(a: Set, b: Set) -> Set:
    if b[0].shape[0] == 0:  # nothing to take away (often: no waits on a thread)
        return _proper(a)
    return _combine(a, b, lambda x, y: x & ~y)


def intersect(a: Set, b: Set) -> Set:
    if a[0].shape[0] == 0 or b[0].shape[0] == 0:
        return EMPTY
    # one side a single interval (a span): cut the other to it
    if b[0].shape[0] == 1:
        return _clip(a, int(b[0][0]), int(b[1][0]))
    if a[0].shape[0] == 1:
        return _clip(b, int(a[0][0]), int(a[1][0]))
    return _combine(a, b, lambda x, y: x & y)


def summed_overlap(start: np.ndarray, end: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """For consecutive chunks [edges[i], edges[i+1]), the summed overlap of raw (possibly
    overlapping) intervals with each chunk: concurrent intervals count twice. Applied to a
    set, this is the time the set covers in each chunk."""
    s = np.sort(np.asarray(start, np.int64))
    e = np.sort(np.asarray(end, np.int64))
    cs = np.concatenate([[0], np.cumsum(s)])
    ce = np.concatenate([[0], np.cumsum(e)])
    x = np.asarray(edges, np.int64)
    ks = np.searchsorted(s, x, side="left")
    ke = np.searchsorted(e, x, side="left")
    # sum over intervals of (min(x, end) - start) for start < x
    f = (ks * x - cs[ks]) - (ke * x - ce[ke])
    return np.diff(f)


class Merging:
    """The union of raw intervals that arrive in batches, for sets too big to hold at once:
    what nothing still to come can change is handed out by ``settle`` and forgotten."""

    def __init__(self) -> None:
        self.s, self.e = EMPTY

    def add(self, start: np.ndarray, end: np.ndarray) -> None:
        if start.shape[0]:
            self.s, self.e = union(np.concatenate([self.s, start]),
                                   np.concatenate([self.e, end]))

    def settle(self, front: float) -> Set:
        """Given that every interval still to come starts at ``front`` or later, the intervals
        that end before it are final: returned in order, and dropped (one ending at ``front``
        could still merge with one starting there)."""
        k = int(np.searchsorted(self.e, front, side="left"))
        out = (self.s[:k], self.e[:k])
        self.s, self.e = self.s[k:], self.e[k:]
        return out

    def __len__(self) -> int:
        return int(self.s.shape[0])
