"""Integer columns out of SQLite in bulk, as numpy arrays.

Python's sqlite3 builds a tuple per row and an object per value: about 1 µs a row plus 0.3 µs a
value, which is most of the cost of reading a big export. Here SQLite itself joins each column
of a block of rows into one text (``group_concat``, in C) and numpy parses it
(``np.fromstring``, in C): about 0.1 µs a value. Tables are read in blocks of consecutive rowids
so that no text grows large, and a big table may be read by several threads at once, each on its
own connection (sqlite3 lets go of the GIL while SQLite works).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import sqlite3
import threading
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

BLOCK = 1 << 16  # rows per block: texts of a few MB


def integer(expr: str, default: str = "-1") -> str:
    """SQL for a value that is never NULL (group_concat skips NULLs, which would shift one
    column against the others). A value that is not an integer makes its block be read row by
    row instead (``columns``)."""
    return f"COALESCE({expr}, {default})"


# what reading a damaged export raises: SQLite's errors, and a message of SQLite's quoting the
# file's own bytes that Python cannot decode
DB_ERRORS = (sqlite3.Error, UnicodeDecodeError)


def open_db(uri: str, **kw: Any) -> sqlite3.Connection:
    """A connection whose text is decoded leniently: a damaged export holds any bytes."""
    con = sqlite3.connect(uri, uri=True, **kw)
    con.text_factory = lambda b: b.decode("utf-8", "replace")
    return con


def columns(con: sqlite3.Connection, exprs: list[str], tail: str,
            params: tuple = ()) -> list[np.ndarray]:
    """``SELECT exprs tail`` as one int64 array per expression. Every expression must give an
    integer for every row (see ``integer``); ``tail`` is the FROM clause and what follows."""
    if not exprs:
        return []
    joined = ", ".join(f"group_concat({e})" for e in exprs)
    row = con.execute(f"SELECT count(*), {joined} {tail}", params).fetchone()
    n = int(row[0])
    out = []
    for text in row[1:]:
        a = _parse(text)
        if a is None or a.shape[0] != n:
            return _by_rows(con, exprs, tail, params)  # a value that is not a plain integer
        out.append(a)
    return out


def _parse(text: object) -> np.ndarray | None:
    if text is None:
        return np.zeros(0, np.int64)
    if not isinstance(text, str):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # older numpy parses a malformed text short
        try:
            return np.fromstring(text, dtype=np.int64, sep=",")
        except ValueError:
            return None


def _as_int(v: object) -> int:
    """An int64, or -1 for what is none (text, a blob, a float beyond int64, NaN)."""
    if not isinstance(v, int):
        try:
            v = int(float(v))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            return -1
    return v if -(1 << 63) <= v < (1 << 63) else -1


def _by_rows(con: sqlite3.Connection, exprs: list[str], tail: str,
             params: tuple) -> list[np.ndarray]:
    rows = con.execute(f"SELECT {', '.join(exprs)} {tail}", params).fetchall()
    flat = np.fromiter((_as_int(v) for v in itertools.chain.from_iterable(rows)), np.int64,
                       len(rows) * len(exprs))
    a = flat.reshape(-1, len(exprs))
    return [a[:, i].copy() for i in range(len(exprs))]


def blocks(con: sqlite3.Connection, table: str, size: int | None = None
           ) -> list[tuple[int, int]]:
    """Consecutive rowid ranges [lo, hi) covering a table, ``size`` (else BLOCK) rowids each."""
    size = size or BLOCK
    try:
        # one aggregate a query: SQLite then reads the ends of the rowid tree, not the table
        lo = con.execute(f'SELECT min(rowid) FROM "{table}"').fetchone()[0]
        hi = con.execute(f'SELECT max(rowid) FROM "{table}"').fetchone()[0]
    except DB_ERRORS:  # a table without rowid: one block
        return [(-(1 << 62), 1 << 62)]
    if lo is None:
        return []
    return [(b, min(b + size, hi + 1)) for b in range(lo, hi + 1, size)]


def in_block(alias: str = "") -> str:
    col = f"{alias}.rowid" if alias else "rowid"
    return f"{col} >= ? AND {col} < ?"


def read_blocks(con: sqlite3.Connection, table: str, exprs: list[str], tail: str,
                opener: Callable[[], sqlite3.Connection] | None = None, workers: int = 1,
                parallel_rows: int = 0, size: int | None = None
                ) -> Iterator[list[np.ndarray]]:
    """``columns`` block after block (in rowid order) of a table; ``tail`` holds two ``?`` for
    the block's rowid range (``in_block``). A table of ``parallel_rows`` rows or more is read
    by up to ``workers`` threads, each on a connection of its own from ``opener``, a few blocks
    ahead of the caller at most."""
    bl = blocks(con, table, size)
    span = bl[-1][1] - bl[0][0] if bl else 0
    done = 0
    if opener is not None and workers > 1 and len(bl) > 1 and span >= parallel_rows:
        local = threading.local()
        opened: list[sqlite3.Connection] = []

        def block(lo: int, hi: int) -> list[np.ndarray]:
            c = getattr(local, "con", None)
            if c is None:
                c = local.con = opener()
                opened.append(c)
            return columns(c, exprs, tail, (lo, hi))

        with concurrent.futures.ThreadPoolExecutor(workers) as ex:
            pending = [ex.submit(block, lo, hi) for lo, hi in bl[:workers + 1]]
            try:
                while done < len(bl):
                    part = pending.pop(0).result()
                    nxt = done + len(pending) + 1
                    if nxt < len(bl):
                        pending.append(ex.submit(block, *bl[nxt]))
                    done += 1
                    yield part
            except (OSError, RuntimeError, sqlite3.Error):
                pass  # a worker could not open the file: the rest is read here
            finally:
                for f in pending:
                    f.cancel()
                concurrent.futures.wait(pending)
                for c in opened:
                    c.close()
    for lo, hi in bl[done:]:
        yield columns(con, exprs, tail, (lo, hi))


class StringIndex:
    """StringIds ids -> positions in the timeline's string list. Exports number their strings
    sparsely (a window keeps only those it uses: 140 strings up to id 331,886), and a damaged
    one can hold any id: a dense table when the ids allow it, a sorted search otherwise."""

    DENSE_UP_TO = 1 << 22

    def __init__(self, ids: list[int]) -> None:
        a = np.asarray(ids, np.int64)
        self._dense: np.ndarray | None = None
        if a.shape[0] and int(a.max()) < self.DENSE_UP_TO:
            self._dense = np.full(int(a.max()) + 1, -1, np.int32)
            self._dense[a] = np.arange(a.shape[0], dtype=np.int32)
        else:
            self._order = np.argsort(a, kind="stable").astype(np.int32)
            self._sorted = a[self._order]

    def lookup(self, sid: np.ndarray) -> np.ndarray:
        """Position of each id (-1 where unknown)."""
        sid = np.asarray(sid, np.int64)
        out = np.full(sid.shape, -1, np.int32)
        if self._dense is not None:
            ok = (sid >= 0) & (sid < self._dense.shape[0])
            out[ok] = self._dense[sid[ok]]
            return out
        if not self._sorted.shape[0]:
            return out
        pos = np.minimum(np.searchsorted(self._sorted, sid), self._sorted.shape[0] - 1)
        hit = self._sorted[pos] == sid
        out[hit] = self._order[pos[hit]]
        return out
