"""Reader for Nsight Systems exports (``nsys export --type sqlite``), 2021 to 2026 schemas.

The export's layout changes between versions: a table exists only when its kind of event was
recorded (unless the export was not lazy), columns come and go, the metadata table was renamed
(EXPORT_META_DATA, then META_DATA_EXPORT), NVTX text is inline (``text``) or a string id
(``textId`` into StringIds), and the ENUM_* tables that name event types are absent from old
schemas. So every table and column is looked up before it is read (sqlite_master,
PRAGMA table_info) and missing ones read as -1. Readers never judge: this fills a GpuTimeline
and says what it skipped.
"""

from __future__ import annotations

import concurrent.futures
import itertools
import multiprocessing
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from pipesight.errors import UserError
from pipesight.model import Trace
from pipesight.model.gpu import (
    COPY_DTOD,
    COPY_DTOH,
    COPY_HTOD,
    COPY_PTOP,
    GRAPH,
    KERNEL,
    MEMCPY,
    MEMSET,
    PUSH_POP,
    START_END,
    Calls,
    GpuOps,
    GpuTimeline,
    NvtxMarks,
    NvtxRanges,
    SyncOps,
)

SQLITE_MAGIC = b"SQLite format 3\x00"
# tables only an Nsight Systems export has; one is enough to recognise it
MARKER_TABLES = ("TARGET_INFO_SESSION_START_TIME", "EXPORT_META_DATA", "META_DATA_EXPORT",
                 "CUPTI_ACTIVITY_KIND_KERNEL", "NVTX_EVENTS", "TARGET_INFO_GPU")
REP_SUFFIXES = (".nsys-rep", ".qdrep")
CHUNK = 1 << 16
PARALLEL_ROWS = 1_000_000  # tables this big are read by several processes
MAX_WORKERS = 8

# NVTX event types (ENUM_NSYS_EVENT_TYPE); used when an old export lacks the enum table
NVTX_TYPES = {"NvtxCategory": 33, "NvtxMark": 34, "NvtxThread": 39, "NvtxPushPopRange": 59,
              "NvtxStartEndRange": 60, "NvtxDomainCreate": 75}
# memcpy kind labels as nsys prints them (ENUM_CUDA_MEMCPY_OPER), for exports without the enum
COPY_LABELS = {0: "Unknown", COPY_HTOD: "Host-to-Device", COPY_DTOH: "Device-to-Host",
               3: "Host-to-Array", 4: "Array-to-Host", 5: "Array-to-Array", 6: "Array-to-Device",
               7: "Device-to-Array", COPY_DTOD: "Device-to-Device", 9: "Host-to-Host",
               COPY_PTOP: "Peer-to-Peer", 11: "Unified Host-to-Device",
               12: "Unified Device-to-Host", 13: "Unified Device-to-Device"}
TID_MASK = 0xFFFFFF
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def split_global_tid(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pid, tid) from nsys's packed globalTid / globalPid (-1 stays -1)."""
    g = np.asarray(g, np.int64)
    pid = np.where(g >= 0, (g >> 24) & TID_MASK, -1)
    tid = np.where(g >= 0, g & TID_MASK, -1)
    return pid, tid


# -- recognising ------------------------------------------------------------------------------

def _uri(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


def _connect(path: Path) -> sqlite3.Connection:
    try:
        con = sqlite3.connect(_uri(path), uri=True)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.Error:
        # a read-only folder can refuse even a read-only open that wants a lock file
        con = sqlite3.connect(f"{_uri(path)}&immutable=1", uri=True)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con


def looks_like_nsys_sqlite(head: bytes, path: Path) -> bool:
    if not head.startswith(SQLITE_MAGIC):
        return False
    try:
        con = _connect(path)
    except sqlite3.Error:
        return True  # SQLite, but damaged: ``read`` says so
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.Error:
        return True
    finally:
        con.close()
    return any(t in names for t in MARKER_TABLES)


def looks_like_nsys_rep(head: bytes, path: Path) -> bool:
    # the report format is NVIDIA's own and undocumented: known by its name, and by not being
    # text or SQLite
    return path.name.endswith(REP_SUFFIXES) and not head.startswith(SQLITE_MAGIC)


# -- schema -----------------------------------------------------------------------------------

class _Schema:
    def __init__(self, con: sqlite3.Connection) -> None:
        self.con = con
        # only plain identifiers: table names are put into SQL text, and nsys uses no others
        self.tables = sorted(r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
            if isinstance(r[0], str) and _IDENT.fullmatch(r[0]))
        self._cols: dict[str, set[str]] = {}

    def has(self, table: str) -> bool:
        return table in self.tables

    def cols(self, table: str) -> set[str]:
        if table not in self._cols:
            self._cols[table] = {r[1] for r in self.con.execute(
                f'PRAGMA table_info("{table}")')} if self.has(table) else set()
        return self._cols[table]

    def col(self, table: str, *names: str, default: str = "-1") -> str:
        """SQL for the first of ``names`` that exists (NULL read as default), else default."""
        for n in names:
            if n in self.cols(table):
                return f'COALESCE("{n}", {default})'
        return default

    def rows(self, table: str) -> int:
        return int(self.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0])


def _int_rows(con: sqlite3.Connection, sql: str, ncols: int) -> np.ndarray:
    """All rows of an all-integer query as one (n, ncols) int64 array, read in chunks. Row
    fetching dominates the cost of reading an export, so callers pack several small values
    into one column where they can."""
    cur = con.execute(sql)
    parts = []
    while True:
        rows = cur.fetchmany(CHUNK)
        if not rows:
            break
        flat = itertools.chain.from_iterable(rows)
        parts.append(np.fromiter(flat, np.int64, len(rows) * ncols).reshape(-1, ncols))
    if not parts:
        return np.zeros((0, ncols), np.int64)
    return np.concatenate(parts)


def _part(uri: str, sql: str, ncols: int, lo: int, hi: int) -> np.ndarray:
    """One rowid range of a big table, read in a worker process on its own connection."""
    con = sqlite3.connect(uri, uri=True)
    try:
        return _int_rows(con, f"{sql} WHERE rowid >= {lo} AND rowid < {hi}", ncols)
    finally:
        con.close()


def _table_rows(con: sqlite3.Connection, uri: str | None, table: str, cols: list[str]
                ) -> np.ndarray:
    """Every row of ``SELECT cols FROM table``; a big table is read in rowid ranges by
    several processes at once (row fetching in Python is the bottleneck, about 1 µs a row)."""
    sql = f"SELECT {', '.join(cols)} FROM {table}"
    workers = min(os.cpu_count() or 1, MAX_WORKERS)
    if uri is not None and workers > 1:
        try:
            lo, hi = con.execute(f"SELECT min(rowid), max(rowid) FROM {table}").fetchone()
        except sqlite3.Error:  # a table without rowid
            lo = hi = None
        if lo is not None and hi - lo >= PARALLEL_ROWS:
            step = -(-(hi + 1 - lo) // workers)
            starts = list(range(lo, hi + 1, step))
            k = len(starts)
            try:
                ctx = multiprocessing.get_context("fork")
                with concurrent.futures.ProcessPoolExecutor(k, mp_context=ctx) as ex:
                    parts = list(ex.map(_part, [uri] * k, [sql] * k, [len(cols)] * k, starts,
                                        [b + step for b in starts]))
                return np.concatenate(parts)
            except (OSError, RuntimeError, ValueError, sqlite3.Error):
                pass  # no worker processes here (or they could not open the file): read here
    return _int_rows(con, sql, len(cols))


def _packed(hi: str, lo: str) -> str:
    """SQL for (hi << 32) | (lo & 0xFFFFFFFF): two values that fit 32 bits in one column."""
    return f"(({hi}) << 32) | (({lo}) & 4294967295)"


def _unpack(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hi = v >> 32
    lo = v & 0xFFFFFFFF
    lo = np.where(lo == 0xFFFFFFFF, -1, lo)  # -1 packed stays -1
    return hi, lo


def _chunks(con: sqlite3.Connection, sql: str) -> Iterator[list[tuple]]:
    cur = con.execute(sql)
    while True:
        rows = cur.fetchmany(CHUNK)
        if not rows:
            return
        yield rows


# -- reading ----------------------------------------------------------------------------------

class _Reader:
    def __init__(self, con: sqlite3.Connection, name: str, uri: str | None = None) -> None:
        self.con = con
        self.uri = uri  # for worker processes reading big tables
        self.s = _Schema(con)
        self.name = name
        self.g = GpuTimeline(tables=list(self.s.tables))
        self.notes: list[str] = []
        self._remap = np.zeros(0, np.int32)

    def note(self, msg: str) -> None:
        self.notes.append(f"{self.name}: {msg}")

    def read(self) -> GpuTimeline:
        self._meta()
        self._strings()
        self._processes_and_threads()
        self._devices()
        self._ops()
        self.g.runtime = self._calls("CUPTI_ACTIVITY_KIND_RUNTIME", correlated=True)
        self._sync()
        self._nvtx()
        self.g.osrt = self._calls("OSRT_API")
        self.g.video = self._concat_calls([t for t in self.s.tables
                                           if re.fullmatch(r"NVVIDEO_\w+_API", t)])
        self.g.gil = self._concat_calls([t for t in self.s.tables if "GIL" in t.upper()
                                         and {"start", "end", "globalTid"} <= self.s.cols(t)])
        self.g.overhead = self._calls("PROFILER_OVERHEAD")
        return self.g

    # strings and look-ups
    def _strings(self) -> None:
        if not self.s.has("StringIds"):
            self.note("no StringIds table: names unknown")
            return
        ids, vals = [], []
        for rows in _chunks(self.con, "SELECT id, value FROM StringIds"):
            for i, v in rows:
                if isinstance(i, int) and i >= 0:
                    ids.append(i)
                    vals.append("" if v is None else str(v))
        self.g.strings = vals
        self._remap = np.full((max(ids) + 1) if ids else 0, -1, np.int32)
        if ids:
            self._remap[np.array(ids, np.int64)] = np.arange(len(ids), dtype=np.int32)

    def _name(self, sid: np.ndarray) -> np.ndarray:
        """Our string index for StringIds ids (-1 where unknown)."""
        sid = np.asarray(sid, np.int64)
        ok = (sid >= 0) & (sid < self._remap.shape[0])
        out = np.full(sid.shape, -1, np.int32)
        out[ok] = self._remap[sid[ok]]
        return out

    def _string_of(self, sid: int) -> str | None:
        i = int(self._name(np.array([sid]))[0])
        return self.g.strings[i] if i >= 0 else None

    def _meta(self) -> None:
        for t in ("META_DATA_EXPORT", "EXPORT_META_DATA"):
            if self.s.has(t) and {"name", "value"} <= self.s.cols(t):
                for k, v in self.con.execute(f"SELECT name, value FROM {t}"):
                    if k is not None:
                        self.g.meta[str(k)] = "" if v is None else str(v)
        t = "TARGET_INFO_SESSION_START_TIME"
        if self.s.has(t) and "systemClockNs" in self.s.cols(t):
            row = self.con.execute(f"SELECT systemClockNs FROM {t}").fetchone()
            if row and isinstance(row[0], int):
                self.g.clock_origin_ns = row[0]

    def _processes_and_threads(self) -> None:
        if self.s.has("PROCESSES") and {"pid", "name"} <= self.s.cols("PROCESSES"):
            for pid, name in self.con.execute("SELECT pid, name FROM PROCESSES"):
                if isinstance(pid, int) and name:
                    self.g.process_names[pid] = str(name)
        if self.s.has("ThreadNames") and {"nameId", "globalTid"} <= self.s.cols("ThreadNames"):
            rows = _int_rows(self.con, "SELECT COALESCE(globalTid, -1), COALESCE(nameId, -1) "
                             "FROM ThreadNames ORDER BY rowid", 2)
            pid, tid = split_global_tid(rows[:, 0])
            names = self._name(rows[:, 1])
            for p, t, n in zip(pid.tolist(), tid.tolist(), names.tolist(), strict=True):
                if t >= 0 and n >= 0:
                    self.g.thread_names[(p, t)] = self.g.strings[n]

    def _devices(self) -> None:
        gpu = "TARGET_INFO_GPU"
        if not self.s.has(gpu) or not {"id", "name"} <= self.s.cols(gpu):
            return
        dev = self.s.col(gpu, "cuDevice", default="id")
        by_gpu: dict[int, str] = {}
        for gid, cud, name in self.con.execute(f"SELECT id, {dev}, name FROM {gpu}"):
            if name is None:
                continue
            by_gpu[int(gid)] = str(name)
            self.g.device_names[int(cud)] = str(name)
        cd = "TARGET_INFO_CUDA_DEVICE"
        if self.s.has(cd) and {"gpuId", "cudaId"} <= self.s.cols(cd):
            for gid, cid in self.con.execute(f"SELECT gpuId, cudaId FROM {cd}"):
                if gid in by_gpu and isinstance(cid, int):
                    self.g.device_names[cid] = by_gpu[gid]

    # GPU work
    def _ops(self) -> None:
        parts = []
        for table, kind in (("CUPTI_ACTIVITY_KIND_KERNEL", KERNEL),
                            ("CUPTI_ACTIVITY_KIND_MEMCPY", MEMCPY),
                            ("CUPTI_ACTIVITY_KIND_MEMSET", MEMSET),
                            ("CUPTI_ACTIVITY_KIND_GRAPH_TRACE", GRAPH)):
            if self.s.has(table):
                parts.append(self._op_table(table, kind))
        if not parts:
            return
        ops = GpuOps(**{f: np.concatenate([getattr(p, f) for p in parts])
                        for f in GpuOps.__dataclass_fields__})
        order = np.argsort(ops.start, kind="stable")
        self.g.ops = ops.take(order)

    def _op_table(self, table: str, kind: int) -> GpuOps:
        c = self.s.col
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
        a = _table_rows(self.con, self.uri, table, cols)
        n_all = a.shape[0]
        # nsys itself leaves out rows without a start time (start > 0)
        a = a[(a[:, 0] > 0) & (a[:, 1] >= a[:, 0])]
        if a.shape[0] < n_all:
            self.note(f"{table}: skipped {n_all - a.shape[0]} rows without valid times")
        n = a.shape[0]
        device, stream = _unpack(a[:, 2])
        pid, corr = _unpack(a[:, 3])
        none8 = np.full(n, -1, np.int8)
        copy_kind, src_kind, dst_kind = none8, none8, none8
        nbytes = np.full(n, -1, np.int64) if kind == KERNEL else a[:, 4]
        if kind == KERNEL:
            name = self._name(a[:, 4])
        elif kind == MEMCPY:
            k = a[:, 7]
            copy_kind = (k & 255).astype(np.int8)
            src_kind = ((k >> 8) & 255).astype(np.int8)
            dst_kind = ((k >> 16) & 255).astype(np.int8)
            labels = self._copy_labels()
            name = np.array([self.g.intern(f"[CUDA memcpy {labels.get(i, 'Unknown')}]")
                             for i in range(256)], np.int32)[k & 255]
        elif kind == MEMSET:
            name = np.full(n, self.g.intern("[CUDA memset]"), np.int32)
        else:
            name = np.full(n, self.g.intern("[CUDA graph]"), np.int32)
        return GpuOps(
            start=a[:, 0], end=a[:, 1], device=device.astype(np.int32),
            stream=stream.astype(np.int32), pid=pid, correlation=corr,
            kind=np.full(n, kind, np.int8), name=name, bytes=nbytes, copy_kind=copy_kind,
            src_kind=src_kind, dst_kind=dst_kind, graph_node=a[:, 5], graph=a[:, 6],
        )

    def _copy_labels(self) -> dict[int, str]:
        t = "ENUM_CUDA_MEMCPY_OPER"
        if self.s.has(t) and {"id", "label"} <= self.s.cols(t):
            return {int(i): str(lb) for i, lb in self.con.execute(f"SELECT id, label FROM {t}")}
        return COPY_LABELS

    def _calls(self, table: str, correlated: bool = False) -> Calls:
        if not self.s.has(table) or not {"start", "globalTid"} <= self.s.cols(table):
            return Calls.empty()
        c = self.s.col
        cols = [c(table, "start"), c(table, "end"), c(table, "globalTid"),
                _packed(c(table, "nameId"), c(table, "correlationId") if correlated else "-1")]
        a = _table_rows(self.con, self.uri, table, cols)
        n_all = a.shape[0]
        a = a[(a[:, 0] >= 0) & (a[:, 1] >= a[:, 0])]
        if a.shape[0] < n_all:
            self.note(f"{table}: skipped {n_all - a.shape[0]} rows without valid times")
        pid, tid = split_global_tid(a[:, 2])
        sid, corr = _unpack(a[:, 3])
        name = self._name(sid)
        if "nameId" not in self.s.cols(table):
            name = np.full(a.shape[0], self.g.intern(table), np.int32)
        calls = Calls(start=a[:, 0], end=a[:, 1], pid=pid, tid=tid, name=name, correlation=corr)
        return calls.take(np.argsort(calls.start, kind="stable"))

    def _concat_calls(self, tables: list[str]) -> Calls:
        parts = [self._calls(t) for t in tables]
        parts = [p for p in parts if len(p)]
        if not parts:
            return Calls.empty()
        calls = Calls(**{f: np.concatenate([getattr(p, f) for p in parts])
                         for f in Calls.__dataclass_fields__})
        return calls.take(np.argsort(calls.start, kind="stable"))

    def _sync(self) -> None:
        t = "CUPTI_ACTIVITY_KIND_SYNCHRONIZATION"
        if not self.s.has(t):
            return
        c = self.s.col
        cols = [c(t, "start"), c(t, "end"), c(t, "deviceId"), c(t, "streamId"),
                c(t, "globalPid"), c(t, "correlationId"), c(t, "syncType")]
        a = _int_rows(self.con, f"SELECT {', '.join(cols)} FROM {t}", len(cols))
        a = a[(a[:, 0] > 0) & (a[:, 1] >= a[:, 0])]
        pid, _ = split_global_tid(a[:, 4])
        self.g.sync = SyncOps(start=a[:, 0], end=a[:, 1], device=a[:, 2].astype(np.int32),
                              stream=a[:, 3].astype(np.int32), pid=pid, correlation=a[:, 5],
                              sync_type=a[:, 6].astype(np.int8))

    def _nvtx_types(self) -> dict[str, int]:
        t = "ENUM_NSYS_EVENT_TYPE"
        types = dict(NVTX_TYPES)
        if self.s.has(t) and {"id", "name"} <= self.s.cols(t):
            known = {str(n): int(i) for i, n in self.con.execute(f"SELECT id, name FROM {t}")}
            types.update({k: known[k] for k in types if k in known})
        return types

    def _nvtx(self) -> None:
        t = "NVTX_EVENTS"
        if not self.s.has(t) or not {"start", "eventType"} <= self.s.cols(t):
            return
        types = self._nvtx_types()
        c = self.s.col
        text = '"text"' if "text" in self.s.cols(t) else "NULL"
        sql = (f"SELECT {c(t, 'start')}, {c(t, 'end')}, {c(t, 'eventType')}, "
               f"{c(t, 'globalTid')}, {c(t, 'endGlobalTid')}, {c(t, 'textId')}, "
               f"{c(t, 'domainId', default='0')}, {c(t, 'category', default='0')}, {text} "
               f"FROM {t}")
        ints: list[np.ndarray] = []
        texts: list[np.ndarray] = []
        for rows in _chunks(self.con, sql):
            ints.append(np.array([r[:8] for r in rows], np.int64).reshape(-1, 8))
            texts.append(np.array([-1 if r[8] is None else self.g.intern(str(r[8]))
                                   for r in rows], np.int32))
        if not ints:
            return
        a = np.concatenate(ints)
        inline = np.concatenate(texts)
        name = np.where(inline >= 0, inline, self._name(a[:, 5])).astype(np.int32)
        etype = a[:, 2]
        pid, tid = split_global_tid(a[:, 3])
        domain = a[:, 6]
        # domains: DomainCreate names them; 0 is the default domain
        for d, n in zip(domain[etype == types["NvtxDomainCreate"]].tolist(),
                        name[etype == types["NvtxDomainCreate"]].tolist(), strict=True):
            if n >= 0:
                self.g.domains[int(d)] = self.g.strings[n]
        dom = np.where(domain == 0, -1, domain).astype(np.int32)
        # thread names given through nvtxNameOsThread take precedence over OS names
        th = etype == types["NvtxThread"]
        for p, tt, n in zip(pid[th].tolist(), tid[th].tolist(), name[th].tolist(), strict=True):
            if n >= 0:
                self.g.thread_names[(p, tt)] = self.g.strings[n]
        mk = etype == types["NvtxMark"]
        self.g.marks = NvtxMarks(ts=a[mk, 0], pid=pid[mk], tid=tid[mk], name=name[mk],
                                 domain=dom[mk])
        rng = (etype == types["NvtxPushPopRange"]) | (etype == types["NvtxStartEndRange"])
        open_ = rng & (a[:, 1] < a[:, 0])
        if open_.any():
            self.note(f"NVTX_EVENTS: skipped {int(open_.sum())} ranges never closed")
        rng &= ~open_
        end_g = a[rng, 4]
        _, end_tid = split_global_tid(end_g)
        end_tid = np.where(end_g > 0, end_tid, tid[rng])
        kind = np.where(etype[rng] == types["NvtxStartEndRange"], START_END, PUSH_POP)
        r = NvtxRanges(start=a[rng, 0], end=a[rng, 1], pid=pid[rng], tid=tid[rng],
                       end_tid=end_tid, name=name[rng], domain=dom[rng],
                       category=a[rng, 7].astype(np.int32), kind=kind.astype(np.int8))
        self.g.nvtx = r.take(np.lexsort((-r.end, r.start)))


def read(path: Path) -> tuple[GpuTimeline, list[str]]:
    """The GPU timeline of an Nsight Systems SQLite export, and notes on what was skipped."""
    try:
        con = _connect(path)
    except sqlite3.Error as e:
        raise UserError(f"{path}: a damaged or unreadable SQLite file ({e})") from None
    try:
        r = _Reader(con, path.name, _uri(path))
        g = r.read()
    except sqlite3.DatabaseError as e:
        raise UserError(f"{path}: damaged Nsight Systems export ({e})") from None
    finally:
        con.close()
    notes = r.notes
    if not len(g.ops):
        notes.append(f"{path.name}: no GPU operations (kernels, copies, memsets) in the export")
    return g, notes


def load_into(trace: Trace, path: Path) -> None:
    g, notes = read(path)
    trace.gpu = g
    trace.notes.extend(notes)
    trace.inputs.append(str(path))


def load(path: Path) -> Trace:
    t = Trace()
    load_into(t, path)
    return t


# -- .nsys-rep: through nsys's own exporter ---------------------------------------------------

def nsys_exe() -> str | None:
    env = os.environ.get("NSYS")
    if env:
        return env if os.access(env, os.X_OK) else shutil.which(env)
    return shutil.which("nsys")


def export_rep(rep: Path, out: Path | None = None) -> Path:
    """The SQLite export of an .nsys-rep, made with nsys (reused when already up to date)."""
    beside = rep.with_name(rep.name.rsplit(".", 1)[0] + ".sqlite")
    if out is None and beside.exists() and beside.stat().st_mtime >= rep.stat().st_mtime:
        with open(beside, "rb") as f:
            if looks_like_nsys_sqlite(f.read(100), beside):
                return beside
    exe = nsys_exe()
    if exe is None:
        raise UserError(f"{rep}: an Nsight Systems report; reading it needs nsys (not on PATH, "
                        f"$NSYS unset): install Nsight Systems, or export it elsewhere with "
                        f"`nsys export --type sqlite {rep.name}` and analyze the .sqlite")
    if out is None:
        out = beside if os.access(rep.parent, os.W_OK) else \
            Path(tempfile.mkdtemp(prefix="pipesight-nsys-")) / beside.name
    cmd = [exe, "export", "--type", "sqlite", "--force-overwrite", "true", "-o", str(out),
           str(rep)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"{rep}: nsys export failed to run ({e})") from None
    if res.returncode != 0 or not out.exists():
        last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"{rep}: nsys export failed (exit {res.returncode}): {last[0]}")
    return out


def load_rep(path: Path) -> Trace:
    return load(export_rep(path))
