"""Reader for Nsight Systems exports (``nsys export --type sqlite``), 2021 to 2026 schemas.

The export's layout changes between versions: a table exists only when its kind of event was
recorded (unless the export was not lazy), columns come and go, the metadata table was renamed
(EXPORT_META_DATA, then META_DATA_EXPORT), NVTX text is inline (``text``) or a string id
(``textId`` into StringIds), and the ENUM_* tables that name event types are absent from old
schemas. So every table and column is looked up before it is read (sqlite_master,
PRAGMA table_info) and missing ones read as -1. Readers never judge: this fills a GpuTimeline
and says what it skipped.

The small tables are read here; the big ones (GPU operations, API calls) are left in the file
for analysis and streamed by the measurements (``nsys_tables``), or loaded whole by ``read``.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path

import numpy as np

from pipesight import nsys_cli
from pipesight.errors import UserError
from pipesight.readers import sqlite_bulk as bulk
from pipesight.readers.checks import db_error
from pipesight.readers.nsys_tables import (
    COPY_LABELS,
    ExportSchema,
    ExportTables,
    call_valid,
    op_valid,
)
from pipesight.readers.sqlite_bulk import DB_ERRORS, StringIndex
from pipesight.trace import Trace
from pipesight.trace.gpu import (
    PUSH_POP,
    START_END,
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
PARALLEL_ROWS = 1_000_000  # tables this big are loaded by several processes
MAX_WORKERS = 8

# NVTX event types (ENUM_NSYS_EVENT_TYPE); used when an old export lacks the enum table
NVTX_TYPES = {"NvtxCategory": 33, "NvtxMark": 34, "NvtxThread": 39, "NvtxPushPopRange": 59,
              "NvtxStartEndRange": 60, "NvtxDomainCreate": 75}
TID_MASK = 0xFFFFFF


def split_global_tid(g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(pid, tid) from nsys's packed globalTid / globalPid (-1 stays -1)."""
    g = np.asarray(g, np.int64)
    pid = np.where(g >= 0, (g >> 24) & TID_MASK, -1)
    tid = np.where(g >= 0, g & TID_MASK, -1)
    return pid, tid


# -- recognising ------------------------------------------------------------------------------

def _uri(path: Path) -> str:
    return f"{path.resolve().as_uri()}?mode=ro"


def _connect(path: Path) -> tuple[sqlite3.Connection, str]:
    uri = _uri(path)
    try:
        con = bulk.open_db(uri)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con, uri
    except DB_ERRORS:
        # a read-only folder can refuse even a read-only open that wants a lock file
        uri = f"{uri}&immutable=1"
        con = bulk.open_db(uri)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con, uri



def looks_like_nsys_sqlite(head: bytes, path: Path) -> bool:
    if not head.startswith(SQLITE_MAGIC):
        return False
    try:
        con, _ = _connect(path)
    except DB_ERRORS:
        return True  # SQLite, but damaged: ``read`` says so
    try:
        names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except DB_ERRORS:
        return True
    finally:
        con.close()
    return any(t in names for t in MARKER_TABLES)


def looks_like_nsys_rep(head: bytes, path: Path) -> bool:
    # the report format is NVIDIA's own and undocumented: known by its name, and by not being
    # text or SQLite
    return path.name.endswith(REP_SUFFIXES) and not head.startswith(SQLITE_MAGIC)


# -- reading ----------------------------------------------------------------------------------

class _Reader:
    """Reads the small tables of an export (names, threads, devices, NVTX, synchronization,
    profiler overhead) and sets up its big tables (operations, API calls)."""

    def __init__(self, con: sqlite3.Connection, name: str, uri: str) -> None:
        self.con = con
        self.s = ExportSchema.of(con)
        self.name = name
        self.uri = uri
        self.g = GpuTimeline(tables=list(self.s.tables))
        self.notes: list[str] = []
        self.tables: ExportTables | None = None

    def note(self, msg: str) -> None:
        self.notes.append(f"{self.name}: {msg}")

    def read(self, whole: bool) -> GpuTimeline:
        self._meta()
        remap = self._strings()
        self._processes_and_threads(remap)
        self._devices()
        # worker threads for big tables, leaving a core to the caller (each thread's blocks
        # in flight cost memory; on two cores they bought no time)
        workers = min((os.cpu_count() or 1) - 1, MAX_WORKERS)
        self.tables = ExportTables(self.uri, self.name, self.s, remap, self._copy_labels(),
                                   self.notes, PARALLEL_ROWS, workers)
        self.tables.intern_labels(self.g)
        self.g.source = self.tables
        self.g.op_count = self._any(self.s.op_tables(), op_valid)
        self.g.call_count = self._any([(t, 0) for t in self.s.call_tables("runtime")],
                                      call_valid)
        if whole:
            self.g.ops = self.tables.load("ops", self.g)
            self.g.runtime = self.tables.load("runtime", self.g)
        self._sync()
        self._nvtx()
        if whole:
            for group in ("osrt", "video", "gil"):
                self.g.loaded[group] = self.tables.load(group, self.g)
        self.g.overhead = self.tables.overhead(self.con, self.g)
        return self.g

    def _any(self, tables: list[tuple[str, int]], valid) -> int:
        """1 when one of the tables has a row with valid times, else 0 (without a full scan)."""
        for t, _ in tables:
            if self.con.execute(f'SELECT 1 FROM "{t}" WHERE {valid(self.s, t)} LIMIT 1'
                                ).fetchone():
                return 1
        return 0

    # strings and look-ups
    def _strings(self) -> StringIndex:
        if not self.s.has("StringIds"):
            self.note("no StringIds table: names unknown")
            self._remap = StringIndex([])
            return self._remap
        ids, vals = [], []
        for i, v in self.con.execute("SELECT id, value FROM StringIds"):
            if isinstance(i, int) and i >= 0:
                ids.append(i)
                vals.append("" if v is None else str(v))
        self.g.strings = vals
        self._remap = StringIndex(ids)
        return self._remap

    def _name(self, sid: np.ndarray) -> np.ndarray:
        """Our string index for StringIds ids (-1 where unknown)."""
        return self._remap.lookup(sid)

    def _ints(self, table: str, exprs: list[str]) -> list[np.ndarray]:
        """Every row of a small table, in rowid order."""
        parts = list(bulk.read_blocks(self.con, table, exprs,
                                      f'FROM "{table}" WHERE {bulk.in_block()}'))
        if not parts:
            return [np.zeros(0, np.int64) for _ in exprs]
        return [np.concatenate([p[i] for p in parts]) for i in range(len(exprs))]

    def _meta(self) -> None:
        for t in ("META_DATA_EXPORT", "EXPORT_META_DATA"):
            if self.s.has(t) and {"name", "value"} <= self.s.colset(t):
                for k, v in self.con.execute(f"SELECT name, value FROM {t}"):
                    if k is not None:
                        self.g.meta[str(k)] = "" if v is None else str(v)
        t = "TARGET_INFO_SESSION_START_TIME"
        for col, attr in (("systemClockNs", "clock_origin_ns"), ("utcEpochNs", "session_utc_ns")):
            if self.s.has(t) and col in self.s.colset(t):
                row = self.con.execute(f'SELECT "{col}" FROM {t}').fetchone()
                if row and isinstance(row[0], int):
                    setattr(self.g, attr, row[0])
        t = "ANALYSIS_DETAILS"
        if self.s.has(t) and "startTime" in self.s.colset(t):
            row = self.con.execute(f"SELECT min(startTime) FROM {t}").fetchone()
            if row and isinstance(row[0], int):
                self.g.analysis_start_ns = row[0]
        t = "TARGET_INFO_SYSTEM_ENV"
        if self.s.has(t) and {"name", "value"} <= self.s.colset(t):
            row = self.con.execute(f"SELECT value FROM {t} WHERE name = 'Hostname'").fetchone()
            if row and row[0]:
                self.g.hostname = str(row[0])

    def _processes_and_threads(self, remap: StringIndex) -> None:
        if self.s.has("PROCESSES") and {"pid", "name"} <= self.s.colset("PROCESSES"):
            for pid, name in self.con.execute("SELECT pid, name FROM PROCESSES"):
                if isinstance(pid, int) and name:
                    self.g.process_names[pid] = str(name)
        t = "ThreadNames"
        if self.s.has(t) and {"nameId", "globalTid"} <= self.s.colset(t):
            gtid, nid = self._ints(t, [self.s.col(t, "globalTid"), self.s.col(t, "nameId")])
            pid, tid = split_global_tid(gtid)
            names = self._name(nid)
            for p, tt, n in zip(pid.tolist(), tid.tolist(), names.tolist(), strict=True):
                if tt >= 0 and n >= 0:
                    self.g.thread_names[(p, tt)] = self.g.strings[n]

    def _devices(self) -> None:
        gpu = "TARGET_INFO_GPU"
        if not self.s.has(gpu) or not {"id", "name"} <= self.s.colset(gpu):
            return
        dev = self.s.col(gpu, "cuDevice", default="id")
        by_gpu: dict[int, str] = {}
        for gid, cud, name in self.con.execute(f"SELECT id, {dev}, name FROM {gpu}"):
            if name is None or not isinstance(gid, int) or not isinstance(cud, int):
                continue  # a damaged row
            by_gpu[gid] = str(name)
            self.g.device_names[cud] = str(name)
        cd = "TARGET_INFO_CUDA_DEVICE"
        if self.s.has(cd) and {"gpuId", "cudaId"} <= self.s.colset(cd):
            for gid, cid in self.con.execute(f"SELECT gpuId, cudaId FROM {cd}"):
                if gid in by_gpu and isinstance(cid, int):
                    self.g.device_names[cid] = by_gpu[gid]

    def _copy_labels(self) -> dict[int, str]:
        t = "ENUM_CUDA_MEMCPY_OPER"
        if self.s.has(t) and {"id", "label"} <= self.s.colset(t):
            return {i: str(lb) for i, lb in self.con.execute(f"SELECT id, label FROM {t}")
                    if isinstance(i, int)}
        return COPY_LABELS

    def _sync(self) -> None:
        t = "CUPTI_ACTIVITY_KIND_SYNCHRONIZATION"
        if not self.s.has(t):
            return
        c = self.s.col
        a = self._ints(t, [c(t, "start"), c(t, "end"), c(t, "deviceId"), c(t, "streamId"),
                           c(t, "globalPid"), c(t, "correlationId"), c(t, "syncType")])
        keep = (a[0] > 0) & (a[1] >= a[0])
        a = [x[keep] for x in a]
        pid, _ = split_global_tid(a[4])
        self.g.sync = SyncOps(start=a[0], end=a[1], device=a[2].astype(np.int32),
                              stream=a[3].astype(np.int32), pid=pid, correlation=a[5],
                              sync_type=a[6].astype(np.int8))

    def _nvtx_types(self) -> dict[str, int]:
        t = "ENUM_NSYS_EVENT_TYPE"
        types = dict(NVTX_TYPES)
        if self.s.has(t) and {"id", "name"} <= self.s.colset(t):
            known = {str(n): i for i, n in self.con.execute(f"SELECT id, name FROM {t}")
                     if isinstance(i, int)}
            types.update({k: known[k] for k in types if k in known})
        return types

    def _texts(self, t: str, lo: int, hi: int, n: int) -> np.ndarray:
        """A block's NVTX texts given inline, as string indices (-1 where there is none),
        interned in row order. They come joined by NUL, which C strings (as NVTX takes them)
        cannot hold; a second column says which rows have none."""
        if "text" not in self.s.colset(t) or not n:
            return np.full(n, -1, np.int32)
        intern = self.g.intern
        m, joined, missing = self.con.execute(
            f"SELECT count(*), group_concat(COALESCE(\"text\", ''), char(0)), "
            f'group_concat("text" IS NULL) FROM "{t}" WHERE {bulk.in_block()}',
            (lo, hi)).fetchone()
        texts = joined.split("\0") if isinstance(joined, str) and m else []
        none = np.fromstring(missing, dtype=np.int64, sep=",") if m else np.zeros(0)
        if m != n or len(texts) != n or none.shape[0] != n:  # a text holding NUL after all
            rows = self.con.execute(f'SELECT "text" FROM "{t}" WHERE {bulk.in_block()}',
                                    (lo, hi))
            return np.fromiter((-1 if v is None else intern(str(v)) for (v,) in rows),
                               np.int32, n)
        local: dict[str, int] = {}
        ids = np.fromiter((-1 if z else local.setdefault(x, len(local))
                           for x, z in zip(texts, none.astype(bool).tolist(), strict=True)),
                          np.int64, n)
        ours = np.fromiter((intern(x) for x in local), np.int32, len(local))
        return np.where(ids >= 0, ours[np.maximum(ids, 0)] if local else -1, -1
                        ).astype(np.int32)

    def _nvtx(self) -> None:
        """NVTX_EVENTS block by block (a long run holds millions), kept compact."""
        t = "NVTX_EVENTS"
        if not self.s.has(t) or not {"start", "eventType"} <= self.s.colset(t):
            return
        types = self._nvtx_types()
        c = self.s.col
        exprs = [c(t, "start"), c(t, "end"), c(t, "eventType"), c(t, "globalTid"),
                 c(t, "endGlobalTid"), c(t, "textId"), c(t, "domainId", default="0"),
                 c(t, "category", default="0"), c(t, "uint64Value")]
        marks: list[NvtxMarks] = []
        ranges: list[NvtxRanges] = []
        n_open = 0
        for lo, hi in bulk.blocks(self.con, t):
            cols = bulk.columns(self.con, exprs, f'FROM "{t}" WHERE {bulk.in_block()}', (lo, hi))
            start, end, etype, gtid, end_gtid, text_id, domain, category, payload = cols
            inline = self._texts(t, lo, hi, start.shape[0])
            name = np.where(inline >= 0, inline, self._name(text_id)).astype(np.int32)
            pid, tid = (x.astype(np.int32) for x in split_global_tid(gtid))
            # domains: DomainCreate names them; 0 is the default domain
            dc = etype == types["NvtxDomainCreate"]
            for d, n in zip(domain[dc].tolist(), name[dc].tolist(), strict=True):
                if n >= 0:
                    self.g.domains[int(d)] = self.g.strings[n]
            dom = np.where(domain == 0, -1, domain).astype(np.int32)
            # thread names given through nvtxNameOsThread take precedence over OS names
            th = etype == types["NvtxThread"]
            for p, tt, n in zip(pid[th].tolist(), tid[th].tolist(), name[th].tolist(),
                                strict=True):
                if n >= 0:
                    self.g.thread_names[(p, tt)] = self.g.strings[n]
            mk = etype == types["NvtxMark"]
            if mk.any():
                marks.append(NvtxMarks(ts=start[mk], pid=pid[mk], tid=tid[mk], name=name[mk],
                                       domain=dom[mk], payload=payload[mk]))
            rng = (etype == types["NvtxPushPopRange"]) | (etype == types["NvtxStartEndRange"])
            open_ = rng & (end < start)
            n_open += int(open_.sum())
            rng &= ~open_
            end_g = end_gtid[rng]
            _, end_tid = split_global_tid(end_g)
            end_tid = np.where(end_g > 0, end_tid, tid[rng]).astype(np.int32)
            kind = np.where(etype[rng] == types["NvtxStartEndRange"], START_END, PUSH_POP)
            ranges.append(NvtxRanges(start=start[rng], end=end[rng], pid=pid[rng], tid=tid[rng],
                                     end_tid=end_tid, name=name[rng], domain=dom[rng],
                                     category=category[rng].astype(np.int32),
                                     kind=kind.astype(np.int8)))
        if n_open:
            self.note(f"NVTX_EVENTS: skipped {n_open} ranges never closed")
        if marks:
            self.g.marks = _concat(NvtxMarks, marks)
        if ranges:
            r = _concat(NvtxRanges, ranges)
            del ranges
            # outer ranges first among those that start together; nsys mostly writes them so
            if r.start.shape[0] > 1 and not np.all(r.start[1:] > r.start[:-1]):
                r = r.take(np.lexsort((-r.end, r.start)))
            self.g.nvtx = r


def _concat(cls, parts: list):
    return cls(**{f: np.concatenate([getattr(p, f) for p in parts])
                  for f in cls.__dataclass_fields__})


def read(path: Path, whole: bool = True) -> tuple[GpuTimeline, list[str]]:
    """The GPU timeline of an Nsight Systems SQLite export, and notes on what was skipped.
    ``whole``: load the big tables now (else they are loaded on first use, and notes on what
    they skip come when they are read)."""
    try:
        con, uri = _connect(path)
    except DB_ERRORS as e:
        raise UserError(f"{path}: a damaged or unreadable SQLite file ({db_error(e)})") from None
    try:
        r = _Reader(con, path.name, uri)
        g = r.read(whole)
    except DB_ERRORS as e:
        raise UserError(f"{path}: damaged Nsight Systems export ({db_error(e)})") from None
    finally:
        con.close()
    notes = r.notes
    if not g.op_count:
        notes.append(f"{path.name}: no GPU operations (kernels, copies, memsets) in the export")
    return g, notes


def load_into(trace: Trace, path: Path) -> None:
    """For analysis: the big tables stay in the export and are streamed when measured."""
    g, notes = read(path, whole=False)
    trace.gpu = g
    trace.notes.extend(notes)
    if g.source is not None:  # what streaming skips is said where the rest is
        g.source.notes = trace.notes  # type: ignore[attr-defined]
    trace.inputs.append(str(path))


def load(path: Path) -> Trace:
    t = Trace()
    load_into(t, path)
    return t


# -- .nsys-rep: through nsys's own exporter ---------------------------------------------------

def export_rep(rep: Path, out: Path | None = None) -> Path:
    """The SQLite export of an .nsys-rep, made with nsys (reused when already up to date)."""
    beside = rep.with_name(rep.name.rsplit(".", 1)[0] + ".sqlite")
    if out is None and beside.exists() and beside.stat().st_mtime >= rep.stat().st_mtime:
        with open(beside, "rb") as f:
            if looks_like_nsys_sqlite(f.read(100), beside):
                return beside
    if out is None:
        out = beside if os.access(rep.parent, os.W_OK) else \
            Path(tempfile.mkdtemp(prefix="pipesight-nsys-")) / beside.name
    return nsys_cli.export(rep, out)


def load_rep(path: Path) -> Trace:
    return load(export_rep(path))
