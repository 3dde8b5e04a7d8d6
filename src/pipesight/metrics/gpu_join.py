"""GPU operations joined to the CUDA API calls that launched them, as both stream by in time.

nsys writes its runtime-call and operation tables sorted by start, and a call starts before
the operations it launches. So the calls are read just ahead of the operations, and a call is
kept only while it can still matter: while an operation still to come may have been launched
by it (calls that started longer ago than the longest launch-to-run delay seen, with a wide
margin, are dropped), and until the GPU's idle gaps around it are known, when it is kept for
the thread view only if it waits for the GPU or overlaps a gap. A call dropped too early is
noticed (each dropped correlation id is marked) and the pass is made again without dropping.

The join is the one pipesight always made: per (process, correlation id), the call with the
earliest start, the first in the table among equals.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.trace.gpu import CallChunk, GpuTimeline, OpChunk, RowStream

SYNC_NAME = re.compile(r"Synchronize", re.IGNORECASE)
ASYNC_NAME = re.compile(r"Async", re.IGNORECASE)
KEEP_MIN_NS = 100_000_000  # calls kept for joining at least this long behind the operations
KEEP_LAG_TIMES = 4  # ... or this many times the longest launch-to-run delay seen


class Disorder(Exception):
    """A table was not in start order after all: stream it again with exact block bounds."""


class DroppedTooEarly(Exception):
    """An operation's call had been dropped: stream again, keeping every call."""


class Names:
    """Whether each string matches a pattern, each distinct string tested once."""

    def __init__(self, g: GpuTimeline, rx: re.Pattern) -> None:
        self.g, self.rx = g, rx
        self.known: dict[int, bool] = {}

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        if not ids.shape[0]:
            return np.zeros(0, bool)
        one = distinct(ids)
        if len(one) == 1:
            i = one[0]
            return np.full(ids.shape[0], self.known.setdefault(i, bool(self.rx.search(
                self.g.string(i)))), bool)
        u, inv = np.unique(ids, return_inverse=True)
        hit = np.array([self.known.setdefault(i, bool(self.rx.search(self.g.string(i))))
                        for i in u.tolist()], bool)
        return hit[inv]


def distinct(x: np.ndarray) -> list[int]:
    """The distinct values of x, sorted (most columns of a block hold one value: checked
    first, as it is cheap)."""
    if not x.shape[0]:
        return []
    lo, hi = int(x.min()), int(x.max())
    return [lo] if lo == hi else np.unique(x).tolist()


def suffix_min(lows: list[int | None]) -> list[float]:
    """For each count of blocks read (0..n), the earliest start in the blocks still to come."""
    out = [math.inf] * (len(lows) + 1)
    for k in range(len(lows) - 1, -1, -1):
        lo = lows[k]
        out[k] = min(out[k + 1], lo if lo is not None else math.inf)
    return out


class _Marks:
    """Per process, a bit per correlation id."""

    def __init__(self) -> None:
        self.bits: dict[int, tuple[int, np.ndarray]] = {}

    def add(self, pid: np.ndarray, corr: np.ndarray) -> None:
        for p in distinct(pid):
            c = corr[pid == p]
            lo, hi = int(c.min()), int(c.max())
            base, b = self.bits.get(p, (lo - lo % 8, np.zeros(0, np.uint8)))
            if lo < base or hi >= base + 8 * b.shape[0]:
                nb = min(base, lo - lo % 8)
                size = max(hi - nb + 1, 2 * (base + 8 * b.shape[0] - nb))
                grown = np.zeros((size + 7) // 8, np.uint8)
                grown[(base - nb) // 8:(base - nb) // 8 + b.shape[0]] = b
                base, b = nb, grown
            i = c - base
            np.bitwise_or.at(b, i >> 3, (1 << (i & 7)).astype(np.uint8))
            self.bits[p] = (base, b)

    def any(self, pid: np.ndarray, corr: np.ndarray) -> bool:
        for p in distinct(pid):
            got = self.bits.get(p)
            if got is None:
                continue
            base, b = got
            i = corr[pid == p] - base
            i = i[(i >= 0) & (i < 8 * b.shape[0])]
            if ((b[i >> 3] >> (i & 7)) & 1).any():
                return True
        return False


@dataclass
class RuntimeFacts:
    """What the thread view needs of the CUDA calls."""

    threads: set[int] = field(default_factory=set)  # thread_keys that made any
    sync: list[tuple[np.ndarray, ...]] = field(default_factory=list)  # seq, start, end, thread
    other: list[tuple[np.ndarray, ...]] = field(default_factory=list)  # start, end, thread


class CallWindow:
    """The CUDA runtime calls, read just ahead of the operations."""

    def __init__(self, g: GpuTimeline, calls: RowStream, exact: bool, drop: bool) -> None:
        self.g = g
        self.it = iter(calls.chunks())
        self.lows = suffix_min(calls.chunk_lows()) if exact else None
        self.front = -math.inf  # no call still to come starts before this
        self.read = 0
        self.drop = drop
        self.sync_name = Names(g, SYNC_NAME)
        self.async_name = Names(g, ASYNC_NAME)
        # CUPTI's synchronization records name the calls that waited for the GPU
        sk = g.sync
        self.sync_keys = np.unique((sk.pid.astype(np.int64) << 32)
                                   | (sk.correlation.astype(np.int64) & 0xFFFFFFFF))
        self.sync_best: dict[int, tuple[int, int]] = {}  # key -> (start, seq) of its call
        self.cols: dict[str, np.ndarray] = {k: np.zeros(0, np.int64) for k in (
            "seq", "key", "start", "end", "thread", "name")}
        self.decided = np.zeros(0, bool)
        self.order: np.ndarray | None = None  # window rows by key, the chosen one first
        self.seq = 0
        self.joined_upto = -math.inf  # the latest operation start joined so far
        self.lag = 0  # the longest launch-to-run delay seen
        self.dropped = _Marks()
        self.facts = RuntimeFacts()

    # -- reading ahead -------------------------------------------------------------------------

    def _take(self, ch: CallChunk) -> None:
        n = len(ch)
        if not n:
            return
        if int(ch.start.min()) <= self.joined_upto:
            raise Disorder  # a call of an operation already joined may be in this block
        self.facts.threads.update(distinct(ch.thread))
        has = ch.correlation >= 0
        pid = np.where(ch.thread >= 0, ch.thread >> 24, -1)
        key = np.where(has, (pid << 32) | (ch.correlation & 0xFFFFFFFF), -1)
        new = {"seq": np.arange(self.seq, self.seq + n, dtype=np.int64), "key": key,
               "start": ch.start, "end": ch.end, "thread": ch.thread,
               "name": ch.name.astype(np.int64)}
        self.seq += n
        self.cols = {k: np.concatenate([v, new[k]]) for k, v in self.cols.items()}
        self.decided = np.concatenate([self.decided, np.zeros(n, bool)])
        self.order = None

    def advance(self, upto: float) -> None:
        """Reads calls until none still to come starts at or before ``upto``."""
        while self.front <= upto:
            ch = next(self.it, None)
            if ch is None:
                self.front = math.inf
                break
            self.read += 1
            self._take(ch)
            if self.lows is not None:
                self.front = self.lows[self.read]
            elif len(ch):
                self.front = float(ch.start.min())

    # -- joining -------------------------------------------------------------------------------

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        """Window rows by key, then start, then file order: the first of each key is the call
        operations with that key join. (Keys nearly follow file order, and seldom repeat.)"""
        if self.order is None:
            key = self.cols["key"]
            order = np.argsort(key, kind="stable")
            ks = key[order]
            dup = np.flatnonzero(ks[1:] == ks[:-1])
            if dup.shape[0]:
                rows = np.unique(np.concatenate([dup, dup + 1]))
                sub = order[rows]
                order[rows] = sub[np.lexsort((self.cols["seq"][sub], self.cols["start"][sub],
                                              key[sub]))]
            self.order = order
        return self.cols["key"][self.order], self.order

    def join(self, ch: OpChunk) -> None:
        n = len(ch)
        if not n:
            for k in ("call_thread", "call_start", "call_dur", "call_seq", "call_name"):
                setattr(ch, k, np.zeros(0, np.int64))
            return
        self.advance(float(ch.start.max()))
        self.joined_upto = max(self.joined_upto, float(ch.start.max()))
        has = ch.correlation >= 0
        key = np.where(has, (ch.pid << 32) | (ch.correlation & 0xFFFFFFFF), -2)
        keys, order = self._sorted()
        if keys.shape[0]:
            pos = np.minimum(np.searchsorted(keys, key, side="left"), keys.shape[0] - 1)
            found = keys[pos] == key
            row = np.where(found, order[pos], 0)
        else:
            found = np.zeros(n, bool)
            row = np.zeros(n, np.int64)
        if self.drop and self.dropped.bits and has.any() and self.dropped.any(
                ch.pid[has], ch.correlation[has]):
            raise DroppedTooEarly  # its call, or an earlier one with its id, is gone
        c = self.cols
        if not found.any():  # no call to join (none read, e.g. the export has no runtime table)
            for k in ("call_thread", "call_start", "call_dur", "call_seq", "call_name"):
                setattr(ch, k, np.full(n, -1, np.int64))
            return
        ch.call_thread = np.where(found, c["thread"][row], -1)
        ch.call_start = np.where(found, c["start"][row], -1)
        ch.call_dur = np.where(found, c["end"][row] - c["start"][row], -1)
        ch.call_seq = np.where(found, c["seq"][row], -1)
        ch.call_name = np.where(found, c["name"][row], -1)
        if found.any():
            self.lag = max(self.lag, int((ch.start[found] - ch.call_start[found]).max()))

    # -- deciding and dropping -----------------------------------------------------------------

    def settle(self, front: float, known_upto: float, gaps: iv.Set) -> None:
        """``front``: no operation still to come starts before it; ``known_upto``: the idle
        gaps before it are all known (``gaps``)."""
        c = self.cols
        ripe = ~self.decided & (c["end"] <= known_upto)
        if ripe.any():
            self._decide(np.flatnonzero(ripe), gaps)
            self.decided[ripe] = True
        if not self.drop:
            return
        keep_for = max(KEEP_MIN_NS, KEEP_LAG_TIMES * self.lag)
        gone = self.decided & (c["start"] < front - keep_for)
        if gone.any():
            k = c["key"][gone]
            self.dropped.add(k[k >= 0] >> 32, k[k >= 0] & 0xFFFFFFFF)
            keep = ~gone
            self.cols = {name: v[keep] for name, v in c.items()}
            self.decided = self.decided[keep]
            self.order = None

    def _decide(self, i: np.ndarray, gaps: iv.Set) -> None:
        c = self.cols
        start, end, thread = c["start"][i], c["end"][i], c["thread"][i]
        sync = self.sync_name(c["name"][i].astype(np.int32))
        if self.sync_keys.shape[0]:
            sync |= self._chosen_sync(i)
        if sync.any():
            self.facts.sync.append((c["seq"][i][sync], start[sync], end[sync], thread[sync]))
        other = ~sync
        if other.any() and gaps[0].shape[0]:
            touch = iv.overlap(gaps, start[other], end[other]) > 0
            if touch.any():
                o = np.flatnonzero(other)[touch]
                self.facts.other.append((start[o], end[o], thread[o]))

    def _chosen_sync(self, i: np.ndarray) -> np.ndarray:
        """Which of these calls a synchronization record names: the call of its (pid,
        correlation id). Every call that could be an earlier one with the same id has been
        read by now."""
        c = self.cols
        key = c["key"][i]
        hit = np.isin(key, self.sync_keys) & (key >= 0)
        out = np.zeros(i.shape[0], bool)
        if not hit.any():
            return out
        keys, order = self._sorted()
        want = np.unique(key[hit])
        pos = np.searchsorted(keys, want)  # the first row of each key is its call
        best = order[np.minimum(pos, keys.shape[0] - 1)]
        for k, b in zip(want.tolist(), best.tolist(), strict=True):
            cand = (int(c["start"][b]), int(c["seq"][b]))
            old = self.sync_best.get(k)
            if old is None or cand < old:
                self.sync_best[k] = cand
        for j in np.flatnonzero(hit).tolist():
            out[j] = (int(c["start"][i[j]]), int(c["seq"][i[j]])) == self.sync_best[int(key[j])]
        return out

    def finish(self, gaps: iv.Set) -> RuntimeFacts:
        self.advance(math.inf)
        self.settle(math.inf, math.inf, gaps)
        return self.facts
