"""Reader for pipesight's own tracer: events-PID.bin + defs-PID.jsonl (see tracer/*.c).

Turns entry/return records of pad pushes and pulls into Flow rows and Frames (each element's
own time on each thread, nested calls excluded). Time inside the application's pad probes
(format 3) becomes frames of a pseudo-element per probed pad, so it is not charged to the
element downstream. Readers never judge.

Formats: 2 (56-byte records, CPU time from getrusage) and 3 (64-byte records, CPU time from
the thread's CPU clock, probe spans, a sequence number per record).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipesight.errors import UserError
from pipesight.readers.checks import MAX_I64, MAX_U32, clean_json, is_int
from pipesight.trace import Element, Flow, Frames, Outside, Pad, Trace
from pipesight.trace.flow import PROBE, PULL, PUSH
from pipesight.tracer.layout import (
    FORMATS,
    HEADER,
    HEADER_SIZE,
    LIST_PRE,
    MAGIC,
    NONE_U64,
    POST_KINDS,
    PRE_KINDS,
    PROBE_POST,
    PROBE_PRE,
    PULL_POST,
    PULL_PRE,
    PUSH_PRE,
    RECORD,
    RECORD_V2,
    RING_FLAG,
)

# ids of different processes are kept apart by this stride; ids (int32 in the model) of at
# most MAX_PROCESSES processes fit
PROCESS_STRIDE = 1_000_000
MAX_LOCAL_ID = PROCESS_STRIDE - 1
MAX_PROCESSES = 256
MAX_LIST = 1 << 20  # buffers in one pushed list

_EVENTS_RE = re.compile(r"events-(\d+)\.bin$")


def find_processes(directory: Path) -> list[tuple[int, Path, Path]]:
    out = []
    for ev in sorted(directory.glob("events-*.bin")):
        m = _EVENTS_RE.search(ev.name)
        if not m or not ev.is_file():  # a directory or a pipe of that name is no events file
            continue
        pid = int(m.group(1))
        out.append((pid, ev, directory / f"defs-{pid}.jsonl"))
    return out


def read_events(path: Path) -> tuple[np.ndarray, dict[str, int], list[str]]:
    """The completed records of one events file (as format 3 rows), and notes on what was
    skipped."""
    notes: list[str] = []
    size = path.stat().st_size
    if size < HEADER_SIZE:
        raise UserError(f"{path}: too short to be a pipesight events file ({size} bytes)")
    with open(path, "rb") as f:
        raw = f.read(HEADER_SIZE)
    head = np.frombuffer(raw[: HEADER.itemsize], HEADER)[0]
    if int(head["magic"]) == MAGIC and int(head["flags"]) & RING_FLAG:
        # a ring being consumed by `pipesight watch` (watch/ring.py)
        raise UserError(f"{path}: a pipesight watch ring, not a finished trace: watch it with "
                        f"`pipesight watch --attach {path.parent}`, or analyze the watch's run "
                        "directory (it keeps the last interval)")
    version = int(head["version"])
    dtype = FORMATS.get(version)
    if int(head["magic"]) != MAGIC or dtype is None or int(head["record_size"]) != dtype.itemsize:
        raise UserError(f"{path}: not a pipesight events file of a known format (magic, "
                        f"format {version} or record size {int(head['record_size'])})")
    used = int(head["used"])
    capacity = int(head["capacity"])
    dropped = int(head["dropped"])
    n = min(used, capacity, size - HEADER_SIZE) // dtype.itemsize
    if used > capacity:
        notes.append(
            f"{path.name}: the trace file filled up; {dropped} records after that were lost "
            "(raise PIPESIGHT_TRACE_MAX_MB)"
        )
    recs = np.memmap(path, dtype=dtype, mode="r", offset=HEADER_SIZE, shape=(n,)) if n else (
        np.zeros(0, dtype)
    )
    if version >= 3:
        # a record is complete once its sequence number (written last) is its index + 1
        done = recs["seq"] == np.arange(1, n + 1, dtype=np.uint64)
    else:
        done = recs["kind"] != 0
    incomplete = int(n - np.count_nonzero(done))
    if incomplete:
        notes.append(
            f"{path.name}: {incomplete} records were reserved but never completed "
            "(the process ended mid-write)"
        )
    recs = np.asarray(recs[done]) if incomplete else np.asarray(recs)
    recs, bad = _valid_records(recs)
    if bad:
        notes.append(f"{path.name}: skipped {bad} records with impossible values (kind, pad, "
                     "time or count out of range: a damaged file)")
    if version < 3:
        # format 2: the CPU clock came from getrusage, which lags by up to a scheduler tick
        notes.append(f"{path.name}: format {version} (CPU times from getrusage, coarse)")
        up = np.zeros(recs.shape[0], RECORD)
        for name in RECORD_V2.names:
            up[name] = recs[name]
        up["probe"] = 0
        recs = up
    info = {"pid": int(head["pid"]), "records": int(recs.shape[0]), "dropped": dropped,
            "format": version}
    return recs, info, notes


def _valid_records(recs: np.ndarray) -> tuple[np.ndarray, int]:
    """The records whose every field is in range; and how many were not."""
    kind = recs["kind"]
    pre = np.isin(kind, PRE_KINDS)
    ok = ((kind >= PUSH_PRE) & (kind <= PROBE_POST)
          & (recs["pad"] <= MAX_LOCAL_ID) & (recs["peer"] <= MAX_LOCAL_ID)
          & (recs["ts"] <= np.uint64(MAX_I64))
          & ((recs["cpu"] == NONE_U64) | (recs["cpu"] <= np.uint64(MAX_I64)))
          & (~pre | ((recs["count"] >= 0) & (recs["count"] <= MAX_LIST))))
    bad = int(recs.shape[0] - np.count_nonzero(ok))
    if bad:
        recs = recs[ok]
    # a PTS at or past 2^63 ns is kept: no clock reaches it, but an element did stamp it (an
    # encoder's bug that leaves a file empty: doctor/output_files names it); its int64 view is
    # below -1 (none), and every measure of time takes pts >= 0 only
    return recs, bad


def read_defs(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    notes: list[str] = []
    out: list[dict[str, Any]] = []
    if not path.is_file():
        return out, [f"{path.name}: missing; element and pad names are unknown"]
    bad = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                bad += 1  # a line cut by a crash
                continue
            if isinstance(d, dict) and _valid_def(d):
                out.append(clean_json(d))
            else:
                bad += 1
    if bad:
        notes.append(f"{path.name}: skipped {bad} unreadable lines or records with missing or "
                     "out-of-range fields")
    return out, notes


def _id(v: Any) -> bool:
    return is_int(v, 0, MAX_LOCAL_ID)


def _id_or_none(v: Any) -> bool:
    return not v or _id(v)


def _opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _ns(v: Any) -> bool:
    return is_int(v, 0, MAX_I64)


def _tid(v: Any) -> bool:
    return is_int(v, 0, MAX_U32)


# per record type: (fields it must have, the check of each field _apply_defs reads when present)
_DEFS: dict[str, tuple[set[str], dict[str, Any]]] = {
    "element": ({"id"}, {"id": _id, "parent": _id_or_none, "type": _opt_str,
                         "factory": _opt_str, "ptr": _opt_str}),
    "parent": ({"element"}, {"element": _id, "parent": _id_or_none}),
    "pad": ({"id"}, {"id": _id, "element": _id_or_none, "parent_pad": _id_or_none}),
    "link": ({"src", "sink"}, {"src": _id, "sink": _id}),
    "props": ({"element"}, {"element": _id}),
    "caps": ({"pad"}, {"pad": _id, "caps": _opt_str}),
    "thread": ({"tid"}, {"tid": _tid, "name": _opt_str}),
    "clock": ({"monotonic_ns", "ts"}, {"monotonic_ns": _ns, "ts": _ns,
                                       "realtime_ns": lambda v: not v or _ns(v)}),
    "clockmark": ({"monotonic_ns"}, {"monotonic_ns": _ns, "call_ns": lambda v: not v or _ns(v),
                                     "tid": lambda v: not v or _tid(v)}),
    "state": ({"element"}, {"element": _id}),
    "message": (set(), {"element": _id, "pad": _id, "tid": _tid}),
    "eos": (set(), {"element": _id, "pad": _id, "tid": _tid}),
}


def _valid_def(d: dict[str, Any]) -> bool:
    t = d.get("t")
    if not isinstance(t, str):
        return False
    required, checks = _DEFS.get(t, (set(), {}))
    if not required <= d.keys():
        return False
    return all(ok(d[k]) for k, ok in checks.items() if k in d)


def load_into(trace: Trace, directory: Path) -> bool:
    """Read every traced process found in ``directory`` into ``trace``. False if none."""
    procs = find_processes(directory)
    if not procs:
        return False
    if len(procs) > MAX_PROCESSES:
        # the ones with the most records: a run of that many GStreamer processes is unusual
        procs = sorted(procs, key=lambda p: -_size(p[1]))[:MAX_PROCESSES]
        trace.notes.append(f"{directory}: more than {MAX_PROCESSES} traced processes; the "
                           f"{MAX_PROCESSES} with the most records were read")
    # the process that moved the most buffers first: its ids stay as they are
    loaded = []
    for pid, ev, defs in procs:
        recs, info, notes = read_events(ev)
        trace.notes.extend(notes)
        loaded.append((recs.shape[0], pid, recs, defs, info))
    loaded.sort(key=lambda x: -x[0])
    flows: list[Flow] = []
    frames: list[Frames] = []
    outsides: list[Outside] = []
    for k, (_, pid, recs, defs_path, _info) in enumerate(loaded):
        offset = k * PROCESS_STRIDE
        defs, notes = read_defs(defs_path)
        trace.notes.extend(notes)
        _apply_defs(trace, defs, offset, pid)
        _add_probe_elements(trace, recs, offset)
        fl, fr, out = _build(trace, recs, offset, pid)
        flows.append(fl)
        frames.append(fr)
        outsides.append(out)
        trace.inputs.append(str(defs_path.parent / f"events-{pid}.bin"))
    trace.flow = _concat(flows, Flow)
    shift = 0
    for fr in frames:  # parents index into the frames of all processes together
        fr.parent = np.where(fr.parent >= 0, fr.parent + shift, -1)
        shift += len(fr)
    trace.frames = _concat(frames, Frames)
    trace.outside = _concat(outsides, Outside)
    _assign_owners(trace)
    return True


def _size(p: Path) -> int:
    try:
        return p.stat().st_size
    except OSError:
        return 0


def _concat(parts: list[Any], cls: Any) -> Any:
    if len(parts) == 1:
        return parts[0]
    return cls(
        **{k: np.concatenate([getattr(p, k) for p in parts]) for k in cls.__dataclass_fields__}
    )


def _apply_defs(trace: Trace, defs: list[dict[str, Any]], off: int, pid: int) -> None:
    topo = trace.topology
    for d in defs:
        t = d.get("t")
        if t == "element":
            eid = int(d["id"]) + off
            topo.add_element(
                Element(
                    id=eid,
                    name=str(d.get("name")),
                    type=d.get("type"),
                    factory=d.get("factory"),
                    parent=(int(d["parent"]) + off) if d.get("parent") else None,
                    is_bin=bool(d.get("is_bin")),
                    is_sink=bool(d.get("is_sink")),
                    is_source=bool(d.get("is_source")),
                    key=d.get("ptr"),
                )
            )
        elif t == "parent":
            e = topo.element(int(d["element"]) + off)
            if e is not None and d.get("parent"):
                e.parent = int(d["parent"]) + off
        elif t == "pad":
            topo.add_pad(
                Pad(
                    id=int(d["id"]) + off,
                    name=str(d.get("name")),
                    direction=str(d.get("dir", "unknown")),
                    element=(int(d["element"]) + off) if d.get("element") else None,
                    parent_pad=(int(d["parent_pad"]) + off) if d.get("parent_pad") else None,
                    ghost=bool(d.get("ghost")),
                    proxy=bool(d.get("proxy")),
                )
            )
        elif t == "padparent":  # a pad recorded before it had a parent (a dynamic pad)
            pp = topo.pads.get(int(d["id"]) + off)
            if pp is not None and d.get("element"):
                pp.element = int(d["element"]) + off
        elif t == "link":
            topo.add_link(int(d["src"]) + off, int(d["sink"]) + off)
        elif t == "props":
            e = topo.element(int(d["element"]) + off)
            if e is not None and isinstance(d.get("props"), dict):
                e.props.update(d["props"])
        elif t == "caps":
            p = topo.pads.get(int(d["pad"]) + off)
            if p is not None:
                p.caps = d.get("caps")
        elif t == "thread":
            idx = trace.thread_index(f"{pid}:{d['tid']}", os_tid=int(d["tid"]))
            trace.threads[idx].name = d.get("name")
        elif t == "clock":
            if trace.monotonic_offset_ns is None:
                trace.monotonic_offset_ns = int(d["monotonic_ns"]) - int(d["ts"])
            trace.extras.setdefault("tracer_clocks", []).append(
                {"pid": pid, "monotonic_ns": int(d["monotonic_ns"]),
                 "realtime_ns": int(d.get("realtime_ns") or 0), "ts": int(d["ts"])})
        elif t == "tracer":
            trace.extras.setdefault("tracer", {})[pid] = {
                k: d.get(k) for k in ("format", "gst", "cpu_clock", "probes", "nvtx")}
        elif t == "clockmark":
            trace.extras.setdefault("clock_marks", []).append(
                {"pid": pid, "monotonic_ns": int(d["monotonic_ns"]),
                 "call_ns": int(d.get("call_ns") or 0), "tid": int(d.get("tid") or 0)})
        elif t == "state":
            eid = int(d["element"]) + off
            trace.states.append({**d, "element": topo.name(eid), "element_id": eid})
        elif t in ("message", "eos"):
            rec = dict(d)
            if "element" in d:
                rec["element_id"] = int(d["element"]) + off
                rec["element"] = topo.name(int(d["element"]) + off)
            if "pad" in d:
                rec["pad"] = topo.pad_label(int(d["pad"]) + off)
            if "tid" in d:
                rec["thread"] = trace.thread_index(f"{pid}:{d['tid']}", os_tid=int(d["tid"]))
            trace.messages.append(rec)


def _add_probe_elements(trace: Trace, recs: np.ndarray, off: int) -> None:
    """One pseudo-element per pad whose probes the tracer timed."""
    pads = np.unique(recs["pad"][recs["kind"] == PROBE_PRE]).tolist()
    if not pads:
        return
    topo = trace.topology
    nxt = max(topo.elements, default=off) + 1
    for pad in pads:
        topo.add_probe_element(int(pad) + off, nxt)
        nxt += 1


class _PadLookup:
    """pad id -> element, for one process's pads (ids off + 1 ... off + size - 1; -1 anywhere
    else): a table sized by the process's own pads, whatever ids other processes have."""

    def __init__(self, values: np.ndarray, off: int) -> None:
        self.values, self.off = values, off

    def __getitem__(self, pad: np.ndarray) -> np.ndarray:
        return self.values[np.clip(np.asarray(pad) - self.off, 0, self.values.shape[0] - 1)]


def _probe_lookup(trace: Trace, off: int, max_rel: int) -> _PadLookup:
    """pad id -> the pseudo-element of its probes (-1 where none)."""
    lut = np.full(max_rel + 1, -1, np.int32)
    for e in trace.topology.elements.values():
        if e.probe_of is not None and off < e.probe_of <= off + max_rel:
            lut[e.probe_of - off] = e.id
    return _PadLookup(lut, off)


def _processing_lookup(trace: Trace, off: int, max_rel: int) -> _PadLookup:
    """pad id -> processing element id (-1 where the pad only forwards)."""
    lut = np.full(max_rel + 1, -1, np.int32)
    for pid in trace.topology.pads:
        if off < pid <= off + max_rel:
            e = trace.topology.processing_element(pid)
            if e is not None:
                lut[pid - off] = e
    return _PadLookup(lut, off)


@dataclass
class _Records:
    """One process's records as columns, sorted by thread (a thread writes its own in order),
    with each record's thread, nesting depth and the frame that owns the time after it."""

    kind: np.ndarray
    ts: np.ndarray
    cpu: np.ndarray  # -1 where the CPU clock was not read
    pad: np.ndarray
    peer: np.ndarray
    size: np.ndarray
    count: np.ndarray
    pts: np.ndarray
    flags: np.ndarray
    vcsw: np.ndarray
    ivcsw: np.ndarray
    thread: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    seg_start: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per thread
    seg_id: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # per record
    thread_first: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    depth: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    current: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # owning pre
    closes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # post's pre

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @property
    def is_pre(self) -> np.ndarray:
        return np.isin(self.kind, PRE_KINDS)

    @property
    def is_post(self) -> np.ndarray:
        return np.isin(self.kind, POST_KINDS)


def _columns(recs: np.ndarray, off: int) -> _Records:
    order = np.argsort(recs["tid"].astype(np.int64), kind="stable")

    def col(name: str, dtype: type) -> np.ndarray:
        return recs[name][order].astype(dtype)

    def ids(name: str) -> np.ndarray:
        a = col(name, np.int64)
        return np.where(a > 0, a + off, 0)

    def unset(name: str) -> np.ndarray:  # G_MAXUINT64 marks "none"
        u = recs[name][order]
        return np.where(u == NONE_U64, -1, u.astype(np.int64))

    r = _Records(kind=col("kind", np.int8), ts=col("ts", np.int64), cpu=unset("cpu"),
                 pad=ids("pad"), peer=ids("peer"), size=col("size", np.int64),
                 count=col("count", np.int32), pts=unset("pts"), flags=col("flags", np.uint32),
                 vcsw=col("vcsw", np.int64), ivcsw=col("ivcsw", np.int64))
    r.thread = col("tid", np.int64)  # kernel tids until _threads maps them
    return r


def _threads(trace: Trace, r: _Records, pid: int) -> None:
    """Thread index per record, and where each thread's records start."""
    n = len(r)
    uniq, first_idx, inverse = np.unique(r.thread, return_index=True, return_inverse=True)
    of_tid = np.array([trace.thread_index(f"{pid}:{int(t)}", os_tid=int(t)) for t in uniq],
                      np.int32)
    r.thread = of_tid[inverse]
    starts = np.zeros(n, bool)
    starts[first_idx] = True
    r.seg_start = np.sort(first_idx)
    r.seg_id = np.cumsum(starts) - 1
    r.thread_first = np.repeat(r.seg_start, np.diff(np.append(r.seg_start, n)))


def _nesting(r: _Records) -> None:
    """Depth after each record (restarted per thread), the frame (its pre record) owning the
    interval after each record, and the pre each post closes: one pass per nesting level."""
    n = len(r)
    is_pre, is_post = r.is_pre, r.is_post
    delta = is_pre.astype(np.int32) - is_post.astype(np.int32)
    csum = np.cumsum(delta, dtype=np.int64)
    base = csum[r.seg_start] - delta[r.seg_start]
    # a trace that begins inside a call would go negative: such records get depth 0
    r.depth = np.maximum((csum - base[r.seg_id]).astype(np.int32), 0)
    idx = np.arange(n, dtype=np.int64)
    r.current = np.full(n, -1, np.int64)
    r.closes = np.full(n, -1, np.int64)
    for level in range(1, int(r.depth.max(initial=0)) + 1):
        opener = np.where(is_pre & (r.depth == level), idx, -1)
        last = np.maximum.accumulate(opener)
        last = np.where(last >= r.thread_first, last, -1)
        sel = r.depth == level
        r.current[sel] = last[sel]
        selp = is_post & (r.depth == level - 1)
        r.closes[selp] = last[selp]


def _build(
    trace: Trace, recs: np.ndarray, off: int, pid: int
) -> tuple[Flow, Frames, Outside]:
    r = _columns(recs, off)
    del recs
    # lookups cover this process's pad ids only (local id 0 is "no pad")
    mine = [p - off for p in trace.topology.pads if off < p <= off + MAX_LOCAL_ID]
    max_pad = int(max(r.pad.max(initial=off) - off, r.peer.max(initial=off) - off,
                      max(mine, default=0), 0))
    lut = _processing_lookup(trace, off, max_pad)
    _threads(trace, r, pid)
    _nesting(r)
    # interval lengths to the next record of the same thread
    n = len(r)
    nxt_same = np.ones(n, bool)
    nxt_same[-1:] = False
    if n:
        nxt_same[:-1] = r.thread[1:] == r.thread[:-1]
    dt = np.zeros(n, np.int64)
    if n > 1:
        dt[:-1] = np.where(nxt_same[:-1], r.ts[1:] - r.ts[:-1], 0)
    dt = np.maximum(dt, 0)
    dcpu, dvol, dinv = _cpu_intervals(r.ts, r.cpu, r.vcsw, r.ivcsw, dt, r.thread_first)
    frames = _frames(trace, r, pid, lut, _probe_lookup(trace, off, max_pad),
                     (dt, dcpu, dvol, dinv))
    # time outside any call: owned by whoever makes the next top-level call
    oi = np.flatnonzero((r.depth == 0) & nxt_same & ~r.is_pre)
    nxt = oi + 1
    outside = Outside(start=r.ts[oi], end=r.ts[nxt], thread=r.thread[oi],
                      owner=lut[r.pad[nxt]].astype(np.int32),
                      cpu=dcpu[oi], blocked=dvol[oi].astype(np.int32),
                      preempted=dinv[oi].astype(np.int32))
    return _flow(r, lut), frames, outside


def _frames(trace: Trace, r: _Records, pid: int, lut: _PadLookup, probe_lut: _PadLookup,
            intervals: tuple[np.ndarray, ...]) -> Frames:
    """One frame per pre record: its span, own (self) time and CPU, and who did the work."""
    dt, dcpu, dvol, dinv = intervals
    n = len(r)
    pre_idx = np.flatnonzero(r.is_pre)
    m = pre_idx.shape[0]
    pos = np.full(n, -1, np.int64)
    pos[pre_idx] = np.arange(m)
    owned = r.current >= 0
    into = pos[r.current[owned]]

    def own(w: np.ndarray) -> np.ndarray:
        return np.rint(np.bincount(into, weights=w[owned], minlength=m))

    # frame ends: the post closing each pre; unclosed frames end at their thread's last record
    end = np.full(m, -1, np.int64)
    result = np.zeros(m, np.int32)
    post_idx = np.flatnonzero(r.is_post & (r.closes >= 0))
    end[pos[r.closes[post_idx]]] = r.ts[post_idx]
    result[pos[r.closes[post_idx]]] = r.count[post_idx]
    unclosed = end < 0
    if unclosed.any():
        last_of_thread = r.ts[np.append(r.seg_start[1:], n) - 1]
        end[unclosed] = last_of_thread[r.seg_id[pre_idx[unclosed]]]
        trace.notes.append(
            f"process {pid}: {int(unclosed.sum())} calls had not returned when the trace ended"
        )
    pk = r.kind[pre_idx]
    is_pull, is_probe = pk == PULL_PRE, pk == PROBE_PRE
    ppad, ppeer = r.pad[pre_idx], r.peer[pre_idx]
    # push: work is done by the peer (receiver); pull: by the peer (provider); a probe span:
    # by the application's probes on the pad
    element = np.where(ppeer > 0, lut[ppeer], -1).astype(np.int32)
    element[is_probe] = probe_lut[ppad[is_probe]]
    # the frame each frame is nested in: the one that owned the time just before its entry
    parent = np.full(m, -1, np.int64)
    nested = (r.depth[pre_idx] >= 2) & (pre_idx > 0)
    if nested.any():
        before = r.current[pre_idx[nested] - 1]
        parent[nested] = np.where(before >= 0, pos[np.maximum(before, 0)], -1)
    return Frames(
        start=r.ts[pre_idx], end=end, thread=r.thread[pre_idx], element=element,
        caller=lut[ppad].astype(np.int32), pad=ppad.astype(np.int32),
        self_wall=own(dt).astype(np.int64), self_cpu=own(dcpu).astype(np.int64),
        blocked=own(dvol).astype(np.int32), preempted=own(dinv).astype(np.int32),
        count=np.where(is_pull, 1, np.where(is_probe, 0, r.count[pre_idx])).astype(np.int32),
        depth=r.depth[pre_idx].astype(np.int16),
        mode=np.select([is_pull, is_probe], [PULL, PROBE], PUSH).astype(np.int8),
        result=result, parent=parent,
    )


def _flow(r: _Records, lut: _PadLookup) -> Flow:
    """Flow rows: every push and list push at its entry; every successful pull at its return."""
    kind, count = r.kind, r.count
    fsel_push = (kind == PUSH_PRE) | (kind == LIST_PRE)
    fsel_pull = (kind == PULL_POST) & (count == 0) & (r.closes >= 0)
    fi = np.concatenate([np.flatnonzero(fsel_push), np.flatnonzero(fsel_pull)])
    fi.sort()
    f_is_pull = kind[fi] == PULL_POST
    # for a pull, the peer was recorded at its entry
    f_peer = r.peer[fi].copy()
    f_peer[f_is_pull] = r.peer[r.closes[fi[f_is_pull]]]
    f_pad = r.pad[fi]
    own = lut[f_pad]
    oth = np.where(f_peer > 0, lut[f_peer], -1)
    return Flow(
        ts=r.ts[fi], thread=r.thread[fi], pad=f_pad.astype(np.int32),
        peer=f_peer.astype(np.int32),
        src_element=np.where(f_is_pull, oth, own).astype(np.int32),
        dst_element=np.where(f_is_pull, own, oth).astype(np.int32),
        size=r.size[fi], count=np.where(f_is_pull, 1, count[fi]).astype(np.int32),
        pts=r.pts[fi], duration=np.full(fi.shape[0], -1, np.int64), flags=r.flags[fi],
        mode=np.where(f_is_pull, PULL, PUSH).astype(np.int8),
    )


def _cpu_intervals(
    ts: np.ndarray, cpu: np.ndarray, vcsw: np.ndarray, ivcsw: np.ndarray, dt: np.ndarray,
    thread_first: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CPU time and context switches in the interval after each record.

    The tracer reads a thread's CPU clock only when a while has passed since its last reading
    (cpu == -1 otherwise): stretches shorter than that are taken as on the CPU, and what a
    reading adds beyond them belongs to the interval that ends at it."""
    n = ts.shape[0]
    dcpu = dt.astype(np.int64).copy()
    dvol = np.zeros(n, np.int64)
    dinv = np.zeros(n, np.int64)
    if n == 0:
        return dcpu, dvol, dinv
    has = cpu >= 0
    idx = np.arange(n)
    last = np.maximum.accumulate(np.where(has, idx, -1))
    prev = np.empty(n, np.int64)
    prev[0] = -1
    prev[1:] = last[:-1]
    r = np.flatnonzero(has & (prev >= thread_first) & (idx > 0))
    p = prev[r]
    span = ts[r] - ts[p]
    closing = dt[r - 1]
    dcpu[r - 1] = np.clip((cpu[r] - cpu[p]) - (span - closing), 0, closing)
    dvol[r - 1] = np.maximum(vcsw[r] - vcsw[p], 0)
    dinv[r - 1] = np.maximum(ivcsw[r] - ivcsw[p], 0)
    return dcpu, dvol, dinv


def _assign_owners(trace: Trace) -> None:
    """Each thread's owner: the element making most of its top-level calls."""
    fr = trace.frames
    if fr is None or len(fr) == 0:
        return
    top = fr.depth == 1
    for t in trace.threads:
        sel = top & (fr.thread == t.index) & (fr.caller >= 0)
        if not sel.any():
            continue
        vals, cnt = np.unique(fr.caller[sel], return_counts=True)
        t.owner = int(vals[np.argmax(cnt)])


def chunk_frames(defs: list[dict[str, Any]], recs: np.ndarray, pid: int) -> tuple[Trace, Frames]:
    """Frames of a run of records read while the process still runs (the progress line): calls
    cut by the ends of the run are approximate."""
    trace = Trace()
    _apply_defs(trace, defs, 0, pid)
    _add_probe_elements(trace, recs, 0)
    _, frames, _ = _build(trace, recs, 0, pid)
    return trace, frames
