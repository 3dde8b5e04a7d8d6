"""Reader for GStreamer tracer logs (GST_DEBUG=GST_TRACER:7 with GST_TRACERS=stats, latency,
rusage ...), as written by gst-launch-1.0 or any application, on this or another machine.

Built for size: the bulk records (buffer, event, latency, element-latency) are pulled out of
large chunks with one regular expression each and turned into numpy columns; only the rare
records (new-element, new-pad, message, query, rusage) go through the general field parser.
Chunks are parsed in parallel processes when the file is large.
"""

from __future__ import annotations

import gc
import mmap
import os
import re
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipesight.errors import UserError
from pipesight.readers.checks import MAX_I64, MAX_ID, MAX_U32, MAX_U64
from pipesight.readers.gst_structure import none_if_max, parse_structure
from pipesight.trace import Element, Flow, Pad, Trace
from pipesight.trace.flow import PULL, PUSH

CHUNK = 24 << 20
PARALLEL_ABOVE = 96 << 20
_ANSI = re.compile(rb"\x1b\[[0-9;]*m")
# GStreamer >= 1.18 layout of the stats tracer's buffer record. Fields that take few distinct
# values (the pad and element indices; duration and flags) are captured as one group each and
# split once per distinct value: far fewer objects to make per record.
_BUFFER = re.compile(
    rb":0:: buffer, thread-id=\(guint64\)(\d+), ts=\(guint64\)(\d+), (pad-ix=[^b]*?), "
    rb"buffer-size=\(uint\)(\d+), have-buffer-pts=\(boolean\)(\d), buffer-pts=\(guint64\)(\d+), "
    rb"have-buffer-dts=\(boolean\)\d, buffer-dts=\(guint64\)\d+, (have-buffer-duration=[^;]*);"
)
_IXS = re.compile(
    rb"pad-ix=\(uint\)(\d+), element-ix=\(uint\)(\d+), peer-pad-ix=\(uint\)(\d+), "
    rb"peer-element-ix=\(uint\)(\d+)$"
)
_DUR_FLAGS = re.compile(
    rb"have-buffer-duration=\(boolean\)(\d), buffer-duration=\(guint64\)(\d+), "
    rb"buffer-flags=\(GstBufferFlags\)(\d+)$"
)
_BUFFER_COLS = 12
_LATENCY = re.compile(
    rb":0:: latency, (src-element-id=\(string\)[^,]*, src-element=\(string\)[^,]*, "
    rb"src=\(string\)[^,]*, sink-element-id=\(string\)[^,]*, "
    rb"sink-element=\(string\)[^,]*, sink=\(string\)[^,]*), time=\(guint64\)(\d+), "
    rb"ts=\(guint64\)(\d+);"
)
_ELEMENT_LATENCY = re.compile(
    rb":0:: element-latency, (element-id=\(string\)[^,]*, element=\(string\)[^,]*, "
    rb"src=\(string\)[^,]*), time=\(guint64\)(\d+), ts=\(guint64\)(\d+);"
)
_KEY_VALUES = re.compile(rb"=\(string\)([^,]*)")
# every other tracer record (rare); the bulk ones in layouts the fast patterns miss
_OTHER = re.compile(
    rb"GST_TRACER +:0:: (?!event, |buffer, |latency, |element-latency, )([a-z][\w.-]*), "
    rb"([^\n]*)"
)
_SLOW = {
    "buffer": (b":0:: buffer, ", re.compile(rb"GST_TRACER +:0:: buffer, ([^\n]*)")),
    "latency": (b":0:: latency, ", re.compile(rb"GST_TRACER +:0:: latency, ([^\n]*)")),
    "element-latency": (
        b":0:: element-latency, ",
        re.compile(rb"GST_TRACER +:0:: element-latency, ([^\n]*)"),
    ),
}
_EVENT = b":0:: event, "
_COUNTED = {"query", "element-query", "message"}
_LINE = re.compile(
    rb"^\s*(\d+:\d\d:\d\d\.\d+)\s+(\d+)\s+(0x[0-9a-fA-F]+)\s+([A-Z]+)\s+([\w-]+)\s", re.M
)
_FLAG_NICKS = {
    "live": 1 << 4, "decode-only": 1 << 5, "discont": 1 << 6, "resync": 1 << 7,
    "corrupted": 1 << 8, "marker": 1 << 9, "header": 1 << 10, "gap": 1 << 11,
    "droppable": 1 << 12, "delta-unit": 1 << 13, "tag-memory": 1 << 14, "sync-after": 1 << 15,
    "non-droppable": 1 << 16,
}


@dataclass
class TracerLogStats:
    buffers: int = 0
    events: int = 0
    messages: int = 0
    queries: int = 0
    unknown_records: dict[str, int] = field(default_factory=dict)
    last_ts: int = 0
    slow_path_records: int = 0
    damaged_records: int = 0


@dataclass
class _Chunk:
    buffers: np.ndarray
    lat_keys: list[bytes]
    lat: np.ndarray  # (n, 3): code, time, ts
    elat_keys: list[bytes]
    elat: np.ndarray
    rare: list[tuple[str, str]]
    events: int
    slow: int
    damaged: int = 0  # buffer records with values out of range, dropped


def looks_like_tracer_log(head: bytes) -> bool:
    head = _ANSI.sub(b"", head)
    return b"GST_TRACER" in head and bool(_LINE.search(head))


def looks_like_gst_debug_log(head: bytes) -> bool:
    return bool(_LINE.search(_ANSI.sub(b"", head)))


def _u64(col: tuple[bytes, ...], n: int, bad: np.ndarray) -> np.ndarray:
    """Digits -> uint64; a value past 64 bits marks its row in ``bad`` (a damaged record)."""
    if any(len(k) > 19 for k in set(col)):  # only then can a value overflow
        table = {k: int(k) for k in set(col)}
        over = {k for k, v in table.items() if v > MAX_U64}
        if over:
            bad |= np.fromiter((k in over for k in col), bool, n)
            for k in over:
                table[k] = 0
        return np.fromiter(map(table.__getitem__, col), np.uint64, n)
    # most columns hold few distinct values (pads, threads, sizes): convert each value once
    distinct = set(col)
    if len(distinct) * 4 < n:
        table = {k: int(k) for k in distinct}
        return np.fromiter(map(table.__getitem__, col), np.uint64, n)
    return np.fromiter(map(int, col), np.uint64, n)


def _split(col: tuple[bytes, ...], pattern: re.Pattern, width: int, n: int,
           bad: np.ndarray) -> np.ndarray | None:
    """A column of grouped fields -> (n, width) integers, each distinct value parsed once.
    None if a value is not of the expected layout; a value past 64 bits marks its row bad."""
    table: dict[bytes, int] = {}
    values = []
    over = []
    for k in set(col):
        m = pattern.match(k)
        if m is None:
            return None
        table[k] = len(values)
        row = [int(x) for x in m.groups()]
        if any(x > MAX_U64 for x in row):
            over.append(len(values))
            row = [0] * width
        values.append(row)
    idx = np.fromiter(map(table.__getitem__, col), np.int64, n)
    if over:
        bad |= np.isin(idx, over)
    return np.array(values, np.uint64).reshape(-1, width)[idx]


def _buffer_table(rows: list[tuple[bytes, ...]]) -> tuple[np.ndarray | None, int]:
    """Rows of the fast buffer pattern -> the 12 buffer columns (see _flow_from_table), and
    how many rows held values no GStreamer writes (dropped)."""
    n = len(rows)
    out = np.empty((n, _BUFFER_COLS), np.uint64)
    if not n:
        return out, 0
    thread, ts, ixs, size, has_pts, pts, dur_flags = zip(*rows, strict=True)
    bad = np.zeros(n, bool)
    ix = _split(ixs, _IXS, 4, n, bad)
    df = _split(dur_flags, _DUR_FLAGS, 3, n, bad)
    if ix is None or df is None:
        return None, 0
    out[:, 0] = _u64(thread, n, bad)
    out[:, 1] = _u64(ts, n, bad)
    out[:, 2:6] = ix
    out[:, 6] = _u64(size, n, bad)
    out[:, 7] = _u64(has_pts, n, bad)
    out[:, 8] = _u64(pts, n, bad)
    out[:, 9:12] = df
    ok = ~bad & _in_range(out)
    return (out if ok.all() else out[ok]), int(n - np.count_nonzero(ok))


def _in_range(t: np.ndarray) -> np.ndarray:
    """Rows whose values are of a size GStreamer writes: times and sizes within int64, pad and
    element indices real ones (or G_MAXUINT, "none"), flags within 32 bits."""
    big = np.uint64(MAX_I64)
    ids = t[:, 2:6]
    ok = (t[:, 1] <= big) & (t[:, 6] <= big) & (t[:, 11] <= np.uint64(MAX_U32))
    ok &= ((ids <= np.uint64(MAX_ID)) | (ids == np.uint64(MAX_U32))).all(axis=1)
    return ok


def _keyed(rows: list[tuple[bytes, ...]]) -> tuple[list[bytes], np.ndarray]:
    keys: dict[bytes, int] = {}
    for k in {r[0] for r in rows}:
        keys[k] = len(keys)
    n = len(rows)
    out = np.empty((n, 3), np.uint64)
    if n:
        cols = list(zip(*rows, strict=True))
        bad = np.zeros(n, bool)
        out[:, 0] = np.fromiter(map(keys.__getitem__, cols[0]), np.uint64, n)
        out[:, 1] = _u64(cols[1], n, bad)
        out[:, 2] = _u64(cols[2], n, bad)
        bad |= (out[:, 1] > np.uint64(MAX_I64)) | (out[:, 2] > np.uint64(MAX_I64))
        if bad.any():
            out = out[~bad]
    return list(keys), out


def _parse_chunk(data: bytes) -> _Chunk:
    if b"\x1b[" in data:
        data = _ANSI.sub(b"", data)
    rare: list[tuple[str, str]] = []
    slow = 0
    # a fast pattern matches one GStreamer version's layout exactly; a file holds one layout,
    # so when it finds nothing while such records are there, read them field by field
    rows = _BUFFER.findall(data)
    table, damaged = _buffer_table(rows)
    if table is None or (not rows and _SLOW["buffer"][0] in data):
        table = np.zeros((0, _BUFFER_COLS), np.uint64)
        slow += _slow(rare, "buffer", data)
    lrows = _LATENCY.findall(data)
    if not lrows and _SLOW["latency"][0] in data:
        slow += _slow(rare, "latency", data)
    erows = _ELEMENT_LATENCY.findall(data)
    if not erows and _SLOW["element-latency"][0] in data:
        slow += _slow(rare, "element-latency", data)
    for m in _OTHER.finditer(data):
        name = m.group(1).decode(errors="replace")
        if name.endswith(".class"):  # record-class descriptions logged at start-up
            continue
        # queries and messages are only counted: their bodies (caps, structures) are large
        body = "" if name in _COUNTED else m.group(2).decode(errors="replace")
        rare.append((name, body))
    lk, la = _keyed(lrows)
    ek, ea = _keyed(erows)
    return _Chunk(
        buffers=table,
        lat_keys=lk,
        lat=la,
        elat_keys=ek,
        elat=ea,
        rare=rare,
        events=data.count(_EVENT),
        slow=slow,
        damaged=damaged,
    )


def _slow(rare: list[tuple[str, str]], name: str, data: bytes) -> int:
    """Records in a layout the fast pattern does not know (another GStreamer version)."""
    n = 0
    for m in _SLOW[name][1].finditer(data):
        rare.append((name, m.group(1).decode(errors="replace")))
        n += 1
    return n


def _parse_range(path: str, start: int, end: int) -> _Chunk:
    gc.disable()
    try:
        with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            return _parse_chunk(mm[start:end])
    finally:
        gc.enable()


def _ranges(path: Path) -> Iterator[tuple[int, int]]:
    size = path.stat().st_size
    if size == 0:
        return
    with open(path, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        start = 0
        while start < size:
            end = min(start + CHUNK, size)
            if end < size:
                nl = mm.rfind(b"\n", max(start, end - (1 << 20)), end)
                end = size if nl < 0 and mm.find(b"\n", end) < 0 else (
                    nl + 1 if nl >= start else mm.find(b"\n", end) + 1
                )
            yield start, end
            start = end


def _chunks(path: Path, workers: int | None) -> Iterator[_Chunk]:
    ranges = list(_ranges(path))
    nproc = workers if workers is not None else min(len(os.sched_getaffinity(0)), 4)
    if len(ranges) > 1 and nproc > 1 and path.stat().st_size > PARALLEL_ABOVE:
        with ProcessPoolExecutor(max_workers=nproc) as pool:
            yield from pool.map(_parse_range, [str(path)] * len(ranges),
                                [a for a, _ in ranges], [b for _, b in ranges])
    else:
        for a, b in ranges:
            yield _parse_range(str(path), a, b)


def load_into(trace: Trace, path: Path, workers: int | None = None) -> TracerLogStats:
    """Read a tracer log into ``trace``: topology, flow, latency, rusage, messages."""
    stats = TracerLogStats()
    try:
        if path.stat().st_size == 0:
            raise UserError(f"{path}: the file is empty")
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    tables: list[np.ndarray] = []
    lat_parts: list[tuple[list[bytes], np.ndarray]] = []
    elat_parts: list[tuple[list[bytes], np.ndarray]] = []
    rare: list[tuple[str, str]] = []
    for ch in _chunks(path, workers):
        if ch.buffers.shape[0]:
            tables.append(ch.buffers)
        if ch.lat.shape[0]:
            lat_parts.append((ch.lat_keys, ch.lat))
        if ch.elat.shape[0]:
            elat_parts.append((ch.elat_keys, ch.elat))
        rare.extend(ch.rare)
        stats.events += ch.events
        stats.slow_path_records += ch.slow
        stats.damaged_records += ch.damaged
    rusage: list[dict[str, Any]] = []
    slow_rows: list[list[int]] = []
    for name, body in rare:
        fields = parse_structure(name + ", " + body)[1] if body else {}
        _rare_record(trace, stats, slow_rows, name, fields, rusage)
    if slow_rows:
        tables.append(np.array(slow_rows, np.uint64))
    table = np.concatenate(tables) if tables else np.zeros((0, _BUFFER_COLS), np.uint64)
    stats.buffers = int(table.shape[0])
    for parts, series in ((lat_parts, trace.latency.pipeline), (elat_parts, trace.latency.element)):
        for keys, arr in parts:
            series.extend(
                [_latency_key(k) for k in keys], arr[:, 0].astype(np.int32), arr[:, 2], arr[:, 1]
            )
    trace.flow = _flow_from_table(trace, table)
    with open(path, "rb") as f:
        f.seek(-1, os.SEEK_END)
        if f.read(1) != b"\n":
            trace.extras["truncated"] = f"{path.name} ends in the middle of a line"
    for arr in (trace.flow.ts, trace.latency.pipeline.ts, trace.latency.element.ts):
        if arr.shape[0]:
            stats.last_ts = max(stats.last_ts, int(arr.max()))
    if rusage:
        # the rusage tracer's CPU figures are per process and coarse (sampled at pushes):
        # nothing here judges with them, and that is said rather than kept unread
        trace.notes.append(f"{path.name}: {len(rusage)} rusage tracer records not used")
    trace.inputs.append(str(path))
    if stats.slow_path_records:
        trace.notes.append(
            f"{path.name}: {stats.slow_path_records} records in another GStreamer version's "
            "layout were read field by field"
        )
    if stats.damaged_records:
        trace.notes.append(f"{path.name}: skipped {stats.damaged_records} records holding values "
                           "out of range (a damaged log)")
    for name, n in sorted(stats.unknown_records.items()):
        trace.notes.append(f"{path.name}: skipped {n} '{name}' records this version does not read")
    return stats


def _latency_key(raw: bytes) -> str:
    """'src-element-id=(string)0x1, src-element=(string)a, src=(string)src, ...' -> the
    'id.element.pad|id.element.pad' key gst-stats-1.0 prints."""
    vals = [v.decode(errors="replace") for v in _KEY_VALUES.findall(raw)]
    if len(vals) == 6:
        return ".".join(vals[:3]) + "|" + ".".join(vals[3:])
    return ".".join(vals)


def _is_u(v: Any, hi: int) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= hi


def _index(v: Any) -> int | None:
    """A pad or element index; None for GStreamer's "none" and for what no index can be."""
    v = none_if_max(v)
    return v if _is_u(v, MAX_ID) else None


def _truth(v: Any) -> bool:
    if isinstance(v, str):
        return v.strip().lower() in ("1", "true", "yes")
    return bool(v)


def _damaged(stats: TracerLogStats) -> None:
    stats.damaged_records += 1


def _flags(v: Any) -> int:
    if isinstance(v, int):
        return v & MAX_U32 if v >= 0 else 0
    total = 0
    for nick in str(v).replace("|", "+").split("+"):
        total |= _FLAG_NICKS.get(nick.strip().lower().replace("_", "-"), 0)
    return total


def _rare_record(
    trace: Trace,
    stats: TracerLogStats,
    slow_rows: list[list[int]],
    name: str,
    f: dict[str, Any],
    rusage: list[dict[str, Any]],
) -> None:
    ts = f.get("ts")
    if not _is_u(ts, MAX_I64):
        ts = None  # a time no clock reaches, or no time: the record's own time is unknown
    if ts is not None:
        stats.last_ts = max(stats.last_ts, ts)
    if name in ("new-element", "new-pad"):
        _topology_record(trace, stats, name, f)
    elif name == "buffer":
        _buffer_record(stats, slow_rows, f)
    elif name in ("latency", "element-latency", "element-reported-latency"):
        _latency_record(trace, stats, name, f, ts)
    elif name == "message":
        stats.messages += 1
    elif name in ("query", "element-query"):
        stats.queries += 1
    elif name in ("thread-rusage", "proc-rusage"):
        rusage.append({"record": name, **f})
    else:
        stats.unknown_records[name] = stats.unknown_records.get(name, 0) + 1


def _topology_record(trace: Trace, stats: TracerLogStats, name: str, f: dict[str, Any]) -> None:
    ix = _index(f.get("ix"))
    if ix is None:
        _damaged(stats)
        return
    if name == "new-element":
        trace.topology.add_element(Element(
            id=ix, name=str(f.get("name", f"element{ix}")),
            type=f.get("type") if isinstance(f.get("type"), str) else None,
            parent=_index(f.get("parent-ix")), is_bin=bool(f.get("is-bin"))))
        return
    d = f.get("pad-direction")
    direction = {1: "src", 2: "sink"}.get(d, "unknown") if isinstance(d, int) else str(d)
    if direction.upper().startswith("GST_PAD_"):
        direction = direction[8:].lower()
    trace.topology.add_pad(Pad(
        id=ix, name=str(f.get("name", f"pad{ix}")), direction=direction,
        element=_index(f.get("parent-ix")), ghost=bool(f.get("is-ghostpad")),
        proxy=str(f.get("type", "")) == "GstProxyPad"))


def _buffer_record(stats: TracerLogStats, slow_rows: list[list[int]],
                   f: dict[str, Any]) -> None:
    """A buffer record in a layout the fast pattern does not know, read field by field."""
    vals = [f.get(k) for k in ("thread-id", "ts", "pad-ix", "element-ix", "peer-pad-ix",
                               "peer-element-ix", "buffer-size")]
    if vals[3] is None:
        vals[3] = f.get("elem-ix")
    if vals[5] is None:
        vals[5] = f.get("peer-elem-ix")
    if any(not isinstance(v, int) for v in vals):
        stats.unknown_records["buffer (incomplete)"] = (
            stats.unknown_records.get("buffer (incomplete)", 0) + 1
        )
        return
    thread, t, *ixs, size = vals
    if not (_is_u(thread, MAX_U64) and _is_u(t, MAX_I64) and _is_u(size, MAX_I64)
            and all(_is_u(x, MAX_ID) or x == MAX_U32 for x in ixs)):
        _damaged(stats)
        return
    pts, dur = f.get("buffer-pts", MAX_U64), f.get("buffer-duration", MAX_U64)
    pts = pts if _is_u(pts, MAX_I64) else MAX_U64
    dur = dur if _is_u(dur, MAX_I64) else MAX_U64
    has_pts = int(_truth(f.get("have-buffer-pts", pts != MAX_U64)) and pts != MAX_U64)
    has_dur = int(_truth(f.get("have-buffer-duration", dur != MAX_U64)) and dur != MAX_U64)
    slow_rows.append([*vals, has_pts, pts, has_dur, dur, _flags(f.get("buffer-flags", 0))])


def _latency_record(trace: Trace, stats: TracerLogStats, name: str, f: dict[str, Any],
                    ts: int | None) -> None:
    if name == "element-reported-latency":
        key = ".".join(str(f.get(k)) for k in ("element-id", "element"))
        lo, hi = f.get("min", 0) or 0, f.get("max", 0) or 0
        if not (_is_u(lo, MAX_U64) and _is_u(hi, MAX_U64)):
            _damaged(stats)
            return
        trace.latency.reported.append((key, int(ts or 0), lo, hi, bool(f.get("live"))))
        return
    if not (_is_u(f.get("time"), MAX_I64) and ts is not None):
        _damaged(stats)
        return
    if name == "element-latency":
        key = ".".join(str(f.get(k)) for k in ("element-id", "element", "src"))
        series = trace.latency.element
    else:
        if "src-element" in f:
            src = ".".join(str(f.get(k)) for k in ("src-element-id", "src-element", "src"))
            sink = ".".join(str(f.get(k)) for k in ("sink-element-id", "sink-element", "sink"))
        else:  # GStreamer < 1.16: src and sink are "element_pad"
            src, sink = str(f.get("src")), str(f.get("sink"))
        key, series = f"{src}|{sink}", trace.latency.pipeline
    series.extend([key], np.zeros(1, np.int32), np.array([ts], np.int64),
                  np.array([f["time"]], np.int64))


def _flow_from_table(trace: Trace, t: np.ndarray) -> Flow:
    if t.shape[0] == 0:
        return Flow.empty()
    uniq, inv = np.unique(t[:, 0], return_inverse=True)
    idx = np.array([trace.thread_index(hex(int(u))) for u in uniq], np.int32)
    pad = _ix(t[:, 2])
    elem = _ix(t[:, 3])
    peer_pad = _ix(t[:, 4])
    peer_elem = _ix(t[:, 5])
    topo = trace.topology
    top_pad = max(int(pad.max(initial=0)), max(topo.pads, default=0)) + 1
    is_sink_pad = np.zeros(top_pad + 1, bool)
    for p in topo.pads.values():
        if p.direction == "sink":
            is_sink_pad[p.id] = True
    # a buffer record on a sink pad is a pull (gst-stats-1.0 reads it the same way)
    pull = is_sink_pad[np.clip(pad, 0, top_pad)]
    # like gst-stats-1.0, learn a pad's element from its first buffer when new-pad did not say
    unknown = [p for p in topo.pads.values() if p.element is None]
    if unknown:
        first = {}
        for i in range(pad.shape[0] - 1, -1, -1):
            first[int(pad[i])] = int(elem[i])
        for p in unknown:
            if first.get(p.id, -1) >= 0:
                p.element = first[p.id]
    is_bin = np.zeros(max(topo.elements, default=0) + 2, bool)
    for e in topo.elements.values():
        is_bin[e.id] = e.is_bin

    def proc(a: np.ndarray) -> np.ndarray:
        safe = np.clip(a, 0, is_bin.shape[0] - 1)
        return np.where((a >= 0) & ~is_bin[safe], a, -1).astype(np.int32)

    has_pts = t[:, 7] == 1
    has_dur = t[:, 9] == 1
    return Flow(
        ts=t[:, 1].astype(np.int64),
        thread=idx[inv].astype(np.int32),
        pad=pad,
        peer=peer_pad,
        src_element=proc(np.where(pull, peer_elem, elem)),
        dst_element=proc(np.where(pull, elem, peer_elem)),
        size=t[:, 6].astype(np.int64),
        count=np.ones(t.shape[0], np.int32),
        pts=np.where(has_pts, t[:, 8].astype(np.int64), -1),
        duration=np.where(has_dur, t[:, 10].astype(np.int64), -1),
        flags=t[:, 11].astype(np.uint32),
        mode=np.where(pull, PULL, PUSH).astype(np.int8),
    )


def _ix(col: np.ndarray) -> np.ndarray:
    return np.where(col == MAX_U32, -1, col.astype(np.int64)).astype(np.int32)
