"""What a measurement keeps while a table streams past, for numbers that need more than a
running sum: exact medians (``Counts``, the distinct values and how often each came) and
intervals read back once at the end (``Spill``, on disk once they are many)."""

from __future__ import annotations

import tempfile
from typing import IO

import numpy as np

SPILL_ROWS = 1 << 18  # intervals held in memory before they go to disk


class Spill:
    """Settled intervals, read back once at the end; on disk once they are many."""

    def __init__(self) -> None:
        self.parts: list[np.ndarray] = []
        self.held = 0
        self.file: IO[bytes] | None = None

    def add(self, s: np.ndarray, e: np.ndarray) -> None:
        if not s.shape[0]:
            return
        self.parts.append(np.stack([s, e], axis=1).astype(np.int64))
        self.held += s.shape[0]
        if self.held >= SPILL_ROWS:
            try:
                if self.file is None:
                    self.file = tempfile.TemporaryFile(prefix="pipesight-")  # noqa: SIM115
                for p in self.parts:
                    p.tofile(self.file)
            except OSError:
                return  # no room on disk: keep them in memory
            self.parts, self.held = [], 0

    def blocks(self):
        if self.file is not None:
            self.file.seek(0)
            while True:
                a = np.fromfile(self.file, np.int64, 2 * SPILL_ROWS)
                if not a.shape[0]:
                    break
                a = a.reshape(-1, 2)
                yield a[:, 0], a[:, 1]
        for p in self.parts:
            yield p[:, 0], p[:, 1]

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
        self.parts = []


class Counts:
    """A multiset of integers (value, count): exact medians without keeping every value."""

    def __init__(self) -> None:
        self.v = np.zeros(0, np.int64)
        self.c = np.zeros(0, np.int64)

    def add(self, x: np.ndarray, weight: np.ndarray | None = None) -> None:
        if not x.shape[0]:
            return
        v = np.concatenate([self.v, x])
        c = np.concatenate([self.c, np.ones(x.shape[0], np.int64) if weight is None else weight])
        self.v, inv = np.unique(v, return_inverse=True)
        self.c = np.bincount(inv, weights=c).astype(np.int64)

    @property
    def n(self) -> int:
        return int(self.c.sum())

    def median(self) -> float | None:
        """As np.median of the values: the middle one, or the mean of the middle two."""
        n = self.n
        if not n:
            return None
        cum = np.cumsum(self.c)

        def kth(k: int) -> int:
            return int(self.v[np.searchsorted(cum, k, side="right")])

        if n % 2:
            return float(kth(n // 2))
        return (float(kth(n // 2 - 1)) + float(kth(n // 2))) / 2
