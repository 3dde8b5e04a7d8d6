"""The big tables of an Nsight Systems export: GPU operations and API calls.

A long run holds millions of rows of each, so they stay in the export until they are needed:
loaded whole when something asks for the table (``ExportTables.load``), or streamed in blocks
of rows for measurements (``ExportTables.session``): a block of rows at a time, only the
columns measurements read, fetched in bulk (``sqlite_bulk``), by worker threads when a table is
big.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from pipesight.errors import UserError
from pipesight.readers import sqlite_bulk as bulk
from pipesight.readers.checks import db_error
from pipesight.readers.sqlite_bulk import DB_ERRORS, StringIndex
from pipesight.trace.gpu import (
    GRAPH,
    KERNEL,
    MEMCPY,
    MEMSET,
    TID_MASK,
    CallChunk,
    Calls,
    GpuOps,
    GpuTimeline,
    OpChunk,
    split_thread_key,
)

OP_TABLES = (("CUPTI_ACTIVITY_KIND_KERNEL", KERNEL), ("CUPTI_ACTIVITY_KIND_MEMCPY", MEMCPY),
             ("CUPTI_ACTIVITY_KIND_MEMSET", MEMSET), ("CUPTI_ACTIVITY_KIND_GRAPH_TRACE", GRAPH))
RUNTIME = "CUPTI_ACTIVITY_KIND_RUNTIME"
CALL_GROUPS = ("runtime", "osrt", "video", "gil")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
LOW32 = 4294967295
LOW48 = (1 << 48) - 1


@dataclass
class ExportSchema:
    """Which tables and columns an export has (read once; no connection kept)."""

    tables: list[str]
    cols: dict[str, set[str]] = field(default_factory=dict)
    not_null: dict[str, set[str]] = field(default_factory=dict)  # declared NOT NULL

    @classmethod
    def of(cls, con: sqlite3.Connection) -> ExportSchema:
        # only plain identifiers: table names are put into SQL text, and nsys uses no others
        tables = sorted(r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            if isinstance(r[0], str) and _IDENT.fullmatch(r[0]))
        s = cls(tables)
        for t in tables:
            info = con.execute(f'PRAGMA table_info("{t}")').fetchall()
            s.cols[t] = {r[1] for r in info}
            s.not_null[t] = {r[1] for r in info if r[3]}
        return s

    def has(self, table: str) -> bool:
        return table in self.cols

    def colset(self, table: str) -> set[str]:
        return self.cols.get(table, set())

    def col(self, table: str, *names: str, default: str = "-1", alias: str = "") -> str:
        """SQL for the first of ``names`` that exists as an integer (NULL read as default),
        else default."""
        pre = f"{alias}." if alias else ""
        for n in names:
            if n in self.colset(table):
                if n in self.not_null.get(table, ()):
                    return f'{pre}"{n}"'  # nothing to replace (and cheaper to read)
                return bulk.integer(f'{pre}"{n}"', default)
        return default

    # which tables hold each group of calls
    def call_tables(self, group: str) -> list[str]:
        if group == "runtime":
            return [RUNTIME] if self._callable(RUNTIME) else []
        if group == "osrt":
            return ["OSRT_API"] if self._callable("OSRT_API") else []
        if group == "video":
            return [t for t in self.tables if re.fullmatch(r"NVVIDEO_\w+_API", t)
                    and self._callable(t)]
        if group == "gil":
            return [t for t in self.tables if "GIL" in t.upper()
                    and {"start", "end", "globalTid"} <= self.colset(t)]
        if group == "overhead":
            return ["PROFILER_OVERHEAD"] if self._callable("PROFILER_OVERHEAD") else []
        raise ValueError(group)

    def _callable(self, t: str) -> bool:
        return self.has(t) and {"start", "globalTid"} <= self.colset(t)

    def op_tables(self) -> list[tuple[str, int]]:
        return [(t, k) for t, k in OP_TABLES if self.has(t)]


def _raw(s: ExportSchema, t: str, name: str, alias: str = "") -> str:
    """A column as it is (NULL compares false), or NULL when the table lacks it."""
    return (f'{alias}."{name}"' if alias else f'"{name}"') if name in s.colset(t) else "NULL"


def op_valid(s: ExportSchema, t: str, alias: str = "") -> str:
    """nsys itself leaves out operations without a start time (start > 0)."""
    st, en = _raw(s, t, "start", alias), _raw(s, t, "end", alias)
    return f"{st} > 0 AND {en} >= {st}"


def call_valid(s: ExportSchema, t: str) -> str:
    st, en = _raw(s, t, "start"), _raw(s, t, "end")
    return f"{st} >= 0 AND {en} >= {st}"


def _packed(hi: str, lo: str) -> str:
    """SQL for (hi << 32) | (lo & 0xFFFFFFFF): two values that fit 32 bits in one column."""
    return f"(({hi}) << 32) | (({lo}) & {LOW32})"


def _unpack(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = v >> 32
    lo = v & 0xFFFFFFFF
    lo = np.where(lo == 0xFFFFFFFF, -1, lo)  # -1 packed stays -1
    return hi, lo


def _thread_sql(g: str) -> str:
    """thread_key of a globalTid, in SQL: its pid and tid bits."""
    return f"CASE WHEN {g} >= 0 THEN {g} & {LOW48} ELSE -1 END"




# the labels nsys gives copies (ENUM_CUDA_MEMCPY_OPER), for exports without the enum table
COPY_LABELS = {0: "Unknown", 1: "Host-to-Device", 2: "Device-to-Host", 3: "Host-to-Array",
               4: "Array-to-Host", 5: "Array-to-Array", 6: "Array-to-Device",
               7: "Device-to-Array", 8: "Device-to-Device", 9: "Host-to-Host",
               10: "Peer-to-Peer", 11: "Unified Host-to-Device", 12: "Unified Device-to-Host",
               13: "Unified Device-to-Device"}


class ExportTables:
    """The big tables of one export file (a ``GpuSource``)."""

    def __init__(self, uri: str, label: str, schema: ExportSchema, remap: StringIndex,
                 copy_labels: dict[int, str], notes: list[str], parallel_rows: int = 1 << 62,
                 workers: int = 1) -> None:
        self.uri = uri
        self.label = label
        self.schema = schema
        self.remap = remap  # StringIds id -> index into the timeline's strings
        self.copy_labels = copy_labels
        self.notes = notes  # what was skipped, said when it is read
        self.parallel_rows = parallel_rows
        self.workers = workers
        self._noted: set[str] = set()

    def skipped(self, con: sqlite3.Connection, table: str, n_valid: int) -> None:
        """Says once how many rows of a table had no valid times."""
        if table in self._noted:
            return
        self._noted.add(table)
        n_all = int(con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])
        if n_valid < n_all:
            self.notes.append(f"{self.label}: {table}: skipped {n_all - n_valid} rows without "
                              "valid times")

    def connect(self) -> sqlite3.Connection:
        try:
            # check_same_thread off: a worker thread's connection is closed by the caller
            return bulk.open_db(self.uri, check_same_thread=False)
        except DB_ERRORS as e:
            raise UserError(f"{self.label}: cannot reopen the export ({db_error(e)})") from None

    def names(self, sid: np.ndarray) -> np.ndarray:
        """Our string index for StringIds ids (-1 where unknown)."""
        return self.remap.lookup(sid)

    def intern_labels(self, g: GpuTimeline) -> None:
        """Names made up for rows without one, interned in reading order so that string
        indices do not depend on which tables get loaded."""
        for _, kind in self.schema.op_tables():
            if kind == MEMCPY:
                for i in range(256):
                    g.intern(self._copy_label(i))
            elif kind == MEMSET:
                g.intern("[CUDA memset]")
            elif kind == GRAPH:
                g.intern("[CUDA graph]")
        for group in ("runtime", "osrt", "video", "gil", "overhead"):
            for t in self.schema.call_tables(group):
                if "nameId" not in self.schema.colset(t):
                    g.intern(t)

    def _copy_label(self, i: int) -> str:
        return f"[CUDA memcpy {self.copy_labels.get(i, 'Unknown')}]"

    # -- whole tables --------------------------------------------------------------------------

    def load(self, table: str, g: GpuTimeline) -> GpuOps | Calls:
        try:
            con = self.connect()
            try:
                if table == "ops":
                    return self._load_ops(con, g)
                return self._load_calls(con, g, table)
            finally:
                con.close()
        except DB_ERRORS as e:
            raise UserError(f"{self.label}: damaged Nsight Systems export "
                            f"({db_error(e)})") from None

    def _read(self, con: sqlite3.Connection, table: str, exprs: list[str], where: str
              ) -> list[np.ndarray]:
        parts = list(bulk.read_blocks(con, table, exprs,
                                      f'FROM "{table}" WHERE {bulk.in_block()} AND {where}',
                                      self.connect, self.workers, self.parallel_rows))
        if not parts:
            return [np.zeros(0, np.int64) for _ in exprs]
        return [np.concatenate([p[i] for p in parts]) for i in range(len(exprs))]

    def _load_ops(self, con: sqlite3.Connection, g: GpuTimeline) -> GpuOps:
        parts = [self._op_table(con, g, t, k) for t, k in self.schema.op_tables()]
        if not parts:
            return GpuOps.empty()
        ops = GpuOps(**{f: np.concatenate([getattr(p, f) for p in parts])
                        for f in GpuOps.__dataclass_fields__})
        return ops.take(np.argsort(ops.start, kind="stable"))

    def _op_table(self, con: sqlite3.Connection, g: GpuTimeline, table: str, kind: int
                  ) -> GpuOps:
        c = self.schema.col
        pid = f"({c(table, 'globalPid')} >> 24) & {TID_MASK}"
        cols = [c(table, "start"), c(table, "end"),
                _packed(c(table, "deviceId"), c(table, "streamId")),
                _packed(pid, c(table, "correlationId")),
                c(table, "demangledName", "shortName") if kind == KERNEL else
                c(table, "bytes"),
                c(table, "graphNodeId"), c(table, "graphId")]
        if kind == MEMCPY:
            cols.append(f"({c(table, 'copyKind')} & 255) | (({c(table, 'srcKind')} & 255) << 8)"
                        f" | (({c(table, 'dstKind')} & 255) << 16)")
        a = self._read(con, table, cols, op_valid(self.schema, table))
        n = a[0].shape[0]
        self.skipped(con, table, n)
        device, stream = _unpack(a[2])
        pid_, corr = _unpack(a[3])
        none8 = np.full(n, -1, np.int8)
        copy_kind, src_kind, dst_kind = none8, none8, none8
        nbytes = np.full(n, -1, np.int64) if kind == KERNEL else a[4]
        if kind == KERNEL:
            name = self.names(a[4])
        elif kind == MEMCPY:
            k = a[7]
            copy_kind = (k & 255).astype(np.int8)
            src_kind = ((k >> 8) & 255).astype(np.int8)
            dst_kind = ((k >> 16) & 255).astype(np.int8)
            name = np.array([g.intern(self._copy_label(i)) for i in range(256)],
                            np.int32)[k & 255]
        elif kind == MEMSET:
            name = np.full(n, g.intern("[CUDA memset]"), np.int32)
        else:
            name = np.full(n, g.intern("[CUDA graph]"), np.int32)
        return GpuOps(
            start=a[0], end=a[1], device=device.astype(np.int32),
            stream=stream.astype(np.int32), pid=pid_, correlation=corr,
            kind=np.full(n, kind, np.int8), name=name, bytes=nbytes, copy_kind=copy_kind,
            src_kind=src_kind, dst_kind=dst_kind, graph_node=a[5], graph=a[6],
        )

    def _load_calls(self, con: sqlite3.Connection, g: GpuTimeline, group: str) -> Calls:
        parts = [self._call_table(con, g, t, group == "runtime")
                 for t in self.schema.call_tables(group)]
        parts = [p for p in parts if len(p)]
        if not parts:
            return Calls.empty()
        calls = Calls(**{f: np.concatenate([getattr(p, f) for p in parts])
                         for f in Calls.__dataclass_fields__})
        return calls.take(np.argsort(calls.start, kind="stable"))

    def _call_table(self, con: sqlite3.Connection, g: GpuTimeline, table: str,
                    correlated: bool) -> Calls:
        c = self.schema.col
        cols = [c(table, "start"), c(table, "end"), c(table, "globalTid"),
                _packed(c(table, "nameId"), c(table, "correlationId") if correlated else "-1")]
        a = self._read(con, table, cols, call_valid(self.schema, table))
        self.skipped(con, table, a[0].shape[0])
        return self._calls_of(g, table, a)

    def _calls_of(self, g: GpuTimeline, table: str, a: list[np.ndarray]) -> Calls:
        pid, tid = split_thread_key(_thread_key_of_gtid(a[2]))
        sid, corr = _unpack(a[3])
        name = self.names(sid)
        if "nameId" not in self.schema.colset(table):
            name = np.full(a[0].shape[0], g.intern(table), np.int32)
        calls = Calls(start=a[0], end=a[1], pid=pid, tid=tid, name=name, correlation=corr)
        return calls.take(np.argsort(calls.start, kind="stable"))

    def overhead(self, con: sqlite3.Connection, g: GpuTimeline) -> Calls:
        """PROFILER_OVERHEAD: a small table, read whole with the rest of the timeline."""
        return self._load_calls(con, g, "overhead")

    # -- streaming -----------------------------------------------------------------------------

    @contextmanager
    def session(self, g: GpuTimeline) -> Iterator[ExportSession]:
        con = self.connect()
        try:
            yield ExportSession(self, g, con)
        except DB_ERRORS as e:
            raise UserError(f"{self.label}: damaged Nsight Systems export "
                            f"({db_error(e)})") from None
        finally:
            con.close()


def _thread_key_of_gtid(gtid: np.ndarray) -> np.ndarray:
    return np.where(gtid >= 0, (((gtid >> 24) & TID_MASK) << 24) | (gtid & TID_MASK), -1)


class ExportSession:
    """One connection to an export, streaming its big tables (a ``GpuSession``)."""

    def __init__(self, tables: ExportTables, g: GpuTimeline, con: sqlite3.Connection) -> None:
        self.t = tables
        self.s = tables.schema
        self.g = g
        self.con = con

    def op_streams(self) -> list[TableStream]:
        return [TableStream(self, t, k) for t, k in self.s.op_tables()]

    def call_stream(self, group: str) -> CallsStream:
        return CallsStream(self, group)


class TableStream:
    """One table of GPU operations, block after block (a ``OpStream``)."""

    def __init__(self, sess: ExportSession, table: str, kind: int) -> None:
        self.sess = sess
        self.table = table
        self.kind = kind
        c = sess.s.col
        t = table
        graph = f"({_raw(sess.s, t, 'graphNodeId')} >= 0 OR {_raw(sess.s, t, 'graphId')} >= 0)"
        pid = f"({c(t, 'globalPid')} >> 24) & {TID_MASK}"
        self.exprs = [c(t, "start"), c(t, "end"),
                      f"(({c(t, 'deviceId')}) << 33) | (COALESCE({graph}, 0) << 32) | "
                      f"(({c(t, 'streamId')}) & {LOW32})",
                      _packed(pid, c(t, "correlationId"))]
        if kind == MEMCPY:
            self.exprs += [c(t, "bytes"), f"({c(t, 'copyKind')} & 255) | "
                           f"(({c(t, 'srcKind')} & 255) << 8) | (({c(t, 'dstKind')} & 255) << 16)"]
        self.tail = f'FROM "{t}" WHERE {bulk.in_block()} AND {op_valid(sess.s, t)}'

    def chunks(self) -> Iterator[OpChunk]:
        sess = self.sess
        n_valid = 0
        for a in bulk.read_blocks(sess.con, self.table, self.exprs, self.tail, sess.t.connect,
                                  sess.t.workers, sess.t.parallel_rows):
            n_valid += a[0].shape[0]
            yield self._chunk(a)
        sess.t.skipped(sess.con, self.table, n_valid)

    def _chunk(self, a: list[np.ndarray]) -> OpChunk:
        ds = a[2]
        stream = ds & 0xFFFFFFFF
        pid, corr = _unpack(a[3])
        ch = OpChunk(kind=self.kind, start=a[0], end=a[1], device=ds >> 33,
                     stream=np.where(stream == 0xFFFFFFFF, -1, stream),
                     graph=((ds >> 32) & 1).astype(bool), pid=pid, correlation=corr)
        if self.kind == MEMCPY:
            ch.bytes = a[4]
            k = a[5]
            ch.copy_kind, ch.src_kind, ch.dst_kind = k & 255, (k >> 8) & 255, (k >> 16) & 255
        return ch

    def chunk_lows(self) -> list[int | None]:
        return _lows(self.sess, self.table, op_valid(self.sess.s, self.table))


class CallsStream:
    """The tables of one group of API calls, block after block (a ``RowStream``)."""

    def __init__(self, sess: ExportSession, group: str) -> None:
        self.sess = sess
        self.group = group
        self.tables = sess.s.call_tables(group)

    def chunks(self) -> Iterator[CallChunk]:
        sess = self.sess
        c = sess.s.col
        for t in self.tables:
            named = "nameId" in sess.s.colset(t)
            corr = c(t, "correlationId") if self.group == "runtime" else "-1"
            exprs = [c(t, "start"), c(t, "end"), _thread_sql(c(t, "globalTid")),
                     _packed(c(t, "nameId"), corr)]
            n_valid = 0
            for a in bulk.read_blocks(sess.con, t, exprs, f'FROM "{t}" WHERE '
                                      f"{bulk.in_block()} AND {call_valid(sess.s, t)}",
                                      sess.t.connect, sess.t.workers, sess.t.parallel_rows):
                n_valid += a[0].shape[0]
                sid, corr_ = _unpack(a[3])
                name = sess.t.names(sid) if named else np.full(a[0].shape[0],
                                                                sess.g.intern(t), np.int32)
                yield CallChunk(start=a[0], end=a[1], thread=a[2], name=name, correlation=corr_)
            sess.t.skipped(sess.con, t, n_valid)

    def chunk_lows(self) -> list[int | None]:
        out: list[int | None] = []
        for t in self.tables:
            out += _lows(self.sess, t, call_valid(self.sess.s, t))
        return out


def _lows(sess: ExportSession, table: str, valid: str) -> list[int | None]:
    st = _raw(sess.s, table, "start")
    return [sess.con.execute(f'SELECT min({st}) FROM "{table}" WHERE {bulk.in_block()} '
                             f"AND {valid}", b).fetchone()[0]
            for b in bulk.blocks(sess.con, table)]
