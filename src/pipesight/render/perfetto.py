"""RUN/trace.json: the run's timeline in the Chrome trace event format (the JSON object form),
which ui.perfetto.dev and chrome://tracing open.

- one track per streaming thread (process and thread name metadata, real pid and tid where the
  trace has them), with one complete ("X") slice per element's handling of a push or pull,
  nested as the calls were (its own time is what its children do not cover), and a slice for
  the thread owner's time between top-level calls (a source producing, a queue's loop idle);
- counter ("C") tracks: queue levels, frames per second into each sink, each thread's busy %;
- a "pipesight" track with the analysed window and the verdict;
- room for more: GPU kernels, hardware engines, ... as SliceTrack / CounterTrack values, passed
  to ``write(extra=...)`` or produced by functions registered in ``TRACK_SOURCES``.

Size stays bounded: when there are more slices than ``max_slices``, the earliest half of the
budget is kept slice by slice and the rest is aggregated: per track, per time bucket, one slice
per name whose length is the time that name took in the bucket (laid end to end from the
bucket's start; args say how many calls it stands for).

Timestamps are microseconds from the earliest event (``otherData.tracer_ns_at_zero`` gives the
tracer time of 0). Every string from the user's pipeline is JSON-escaped, with <, > and &
escaped too so the file stays inert wherever it is pasted.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipesight.metrics import Metrics
from pipesight.metrics import timelines as tl
from pipesight.trace import Trace

MAX_SLICES = 400_000  # about 60 MB of JSON
EXTRA_PID_BASE = 5_000_000  # above Linux's pid_max, so no clash with real processes


@dataclass
class SliceTrack:
    """Slices on one track. Slices may nest (a call and the calls it made) but must not
    overlap otherwise."""

    group: str  # the process it shows under ("GPU 0", "NVDEC", or the pipeline's)
    name: str  # the track ("stream 7", a thread's name)
    start_ns: np.ndarray  # tracer clock
    end_ns: np.ndarray
    label: np.ndarray  # per slice: index into labels
    labels: list[str]
    busy_ns: np.ndarray | None = None  # what each slice itself accounts for (default: length)
    args: dict[str, np.ndarray] = field(default_factory=dict)  # per-slice numbers
    category: str | np.ndarray = "slice"  # one for all, or per slice: index into categories
    categories: list[str] = field(default_factory=list)
    pid: int | None = None  # real ids, when known
    tid: int | None = None
    sort_index: int | None = None

    def __len__(self) -> int:
        return int(self.start_ns.shape[0])


@dataclass
class CounterTrack:
    group: str
    name: str
    ts_ns: np.ndarray  # tracer clock
    value: np.ndarray
    pid: int | None = None


Track = SliceTrack | CounterTrack
TrackSource = Callable[[Trace, Metrics], Iterable[Track]]
# functions that turn parts of a trace (trace.extras: GPU, hardware samples, ...) into tracks
TRACK_SOURCES: list[TrackSource] = []


def write(trace: Trace, metrics: Metrics, path: Path, *, verdict: Any = None,
          extra: Iterable[Track] = (), max_slices: int = MAX_SLICES,
          timelines: tl.Timelines | None = None) -> dict[str, Any]:
    """Write trace.json; returns what went in (events, slices kept, aggregation)."""
    series = timelines if timelines is not None else tl.compute(trace, metrics)
    tracks: list[Track] = [*thread_tracks(trace, series), *counter_tracks(trace, series),
                           *gpu_tracks(series)]
    if verdict is not None:
        tracks.extend(verdict_tracks(metrics, verdict))
    for src in TRACK_SOURCES:
        tracks.extend(src(trace, metrics))
    tracks.extend(extra)
    return write_tracks(tracks, path, max_slices=max_slices, process_name=_process_name(trace))


# -- tracks from the trace ------------------------------------------------------------


def _ids(trace: Trace) -> list[tuple[int, int]]:
    """(pid, tid) per thread index."""
    run_pid = trace.run.get("pid") if isinstance(trace.run.get("pid"), int) else 1
    out = []
    for t in trace.threads:
        pid = run_pid
        if t.key and ":" in t.key and t.key.split(":", 1)[0].isdigit():
            pid = int(t.key.split(":", 1)[0])
        out.append((pid, t.os_tid or t.index + 1))
    return out


def thread_tracks(trace: Trace, series: tl.Timelines) -> list[SliceTrack]:
    """One track per streaming thread: its slices named after their element, a queue's idle
    calls as "NAME (waiting)"."""
    labels: list[str] = []
    index: dict[str, int] = {}

    def lab(s: str) -> int:
        if s not in index:
            index[s] = len(labels)
            labels.append(s)
        return index[s]

    ids = _ids(trace)
    tracks = []
    for ts in series.slices:
        th = trace.threads[ts.thread]
        uel, inv = np.unique(ts.element, return_inverse=True)
        names = [trace.topology.name(int(e)) for e in uel.tolist()]
        busy_lab = np.array([lab(n) for n in names], np.int32)
        waits = set(np.unique(inv[ts.waiting]).tolist())
        wait_lab = np.array([lab(f"{n} (waiting)") if i in waits else busy_lab[i]
                             for i, n in enumerate(names)], np.int32)
        label = np.where(ts.waiting, wait_lab[inv], busy_lab[inv]).astype(np.int32)
        pid, tid = ids[ts.thread]
        tracks.append(SliceTrack(
            group="pipeline", name=th.name or th.label(), start_ns=ts.start, end_ns=ts.end,
            label=label, labels=labels, busy_ns=ts.self_ns.astype(float),
            args={"buffers": ts.buffers, "self_ns": ts.self_ns, "cpu_ns": ts.cpu_ns},
            category=ts.between.astype(np.int8), categories=["call", "between calls"],
            pid=pid, tid=tid, sort_index=ts.busy_rank,
        ))
    return tracks


def counter_tracks(trace: Trace, series: tl.Timelines) -> list[CounterTrack]:
    out: list[CounterTrack] = []
    for s in series.queues:
        out.append(CounterTrack("pipeline", f"{s.label} level (buffers)", s.ts, s.value))
    for s in series.throughput:
        out.append(CounterTrack("pipeline", f"{s.label} fps", s.ts, s.value))
    for tb in series.busy:
        th = trace.threads[tb.thread]
        out.append(CounterTrack("pipeline", f"{th.name or th.label()} busy %", tb.edges[:-1],
                                np.round(100 * tb.total, 2)))
    for s in series.gpu:
        out.append(CounterTrack(s.label.rsplit(" busy", 1)[0], f"{s.label} %", s.ts, s.value))
    for s in series.sampled:
        out.append(CounterTrack("samplers", f"{s.label} ({s.unit})", s.ts, s.value))
    return out


def gpu_tracks(series: tl.Timelines) -> list[SliceTrack]:
    """What each GPU stream ran, on the same clock as the streaming threads."""
    return [SliceTrack(f"GPU {g.device}", f"stream {g.stream}", g.start, g.end, g.name,
                       g.names, category="gpu") for g in series.gpu_ops]


def verdict_tracks(metrics: Metrics, verdict: Any) -> list[SliceTrack]:
    w = metrics.window
    if w is None:
        return []
    b = verdict.bottleneck
    what = f"{b.kind} {b.element}" if b.element else b.kind
    fps = verdict.throughput_fps
    label = (f"window: {fps:.1f} fps, bottleneck {what} ({b.confidence})" if fps is not None
             else f"window: bottleneck {what} ({b.confidence})")
    return [SliceTrack("pipesight", "verdict", np.array([w.start]), np.array([w.end]),
                       np.array([0]), [label], category="verdict")]


def _process_name(trace: Trace) -> str:
    cmd = trace.run.get("command")
    if isinstance(cmd, list) and cmd and isinstance(cmd[0], str):
        return Path(cmd[0]).name
    return "pipeline"


# -- writing --------------------------------------------------------------------------


def js(s: str) -> str:
    """A JSON string literal that is also inert in HTML."""
    return (json.dumps(s, ensure_ascii=True).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("&", "\\u0026"))


def _num(v: float | int) -> str:
    if isinstance(v, int | np.integer):
        return str(int(v))
    f = float(v)
    return f"{f:.10g}" if math.isfinite(f) else "null"


def _nums(a: np.ndarray) -> list[str]:
    """JSON numbers for a column, fast: integers as such, floats to 10 digits."""
    if a.dtype.kind in "iub":
        return list(map(str, a.astype(np.int64).tolist()))
    vals = a.astype(float).tolist()
    if np.isfinite(a).all():
        return [f"{x:.10g}" for x in vals]
    return [f"{x:.10g}" if math.isfinite(x) else "null" for x in vals]


def _us(ns: int) -> str:
    """Exact microseconds with three decimals (ns) from a non-negative ns count."""
    return f"{ns // 1000}.{ns % 1000:03d}"


_PAD3 = [f"{i:03d}" for i in range(1000)]


def _us_col(ns: np.ndarray) -> list[str]:
    """``_us`` of a whole column."""
    q, r = np.divmod(ns.astype(np.int64), 1000)
    pad = _PAD3
    return [f"{a}.{pad[b]}" for a, b in zip(q.tolist(), r.tolist(), strict=True)]


def nice_bucket(ns: float) -> int:
    """The smallest 1, 2 or 5 times a power of ten ns at least ``ns``."""
    ns = max(ns, 1.0)
    mag = 10 ** math.floor(math.log10(ns))
    return int(next(m * mag for m in (1, 2, 5, 10) if m * mag >= ns))


def write_tracks(tracks: list[Track], path: Path, *, max_slices: int = MAX_SLICES,
                 process_name: str = "pipeline") -> dict[str, Any]:
    slices = [t for t in tracks if isinstance(t, SliceTrack) and len(t)]
    counters = [t for t in tracks if isinstance(t, CounterTrack) and t.ts_ns.shape[0]]
    times = [t.start_ns for t in slices] + [t.ts_ns for t in counters]
    origin = int(min((int(x.min()) for x in times), default=0))
    total = sum(len(t) for t in slices)
    cut: int | None = None
    bucket = 0
    if total > max_slices:
        starts = np.concatenate([t.start_ns for t in slices])
        keep = max_slices // 2
        cut = int(np.partition(starts, keep)[keep])
        pairs = sum(len(np.unique(t.label[t.start_ns >= cut])) for t in slices)
        t_end = int(max(int(t.end_ns.max()) for t in slices))
        buckets = max((max_slices - keep) // max(pairs, 1), 1)
        bucket = nice_bucket((t_end - cut) / buckets)

    pids = _assign_ids(slices, counters)
    stats = {"slices": 0, "aggregated_slices": 0, "counter_events": 0,
             "aggregated_from_us": None if cut is None else _us(cut - origin),
             "bucket_ms": bucket / 1e6 if bucket else None}
    with open(path, "w", encoding="utf-8") as f:
        # no displayTimeUnit: some Perfetto versions took it for the unit of ts
        f.write('{"otherData":{"generator":"pipesight","timestamps":"microseconds",'
                f'"tracer_ns_at_zero":{origin}}},"traceEvents":[\n')
        first = True

        def emit(lines: Iterable[str]) -> None:
            nonlocal first
            for ln in lines:
                f.write(ln if first else ",\n" + ln)
                first = False

        emit(_metadata(slices, counters, pids, process_name))
        for t in slices:
            pid, tid = pids[id(t)]
            sel = np.ones(len(t), bool) if cut is None else t.start_ns < cut
            lines = _detail(t, sel, pid, tid, origin)
            stats["slices"] += int(sel.sum())
            emit(lines)
            if cut is not None:
                detail_end = int(t.end_ns[sel].max()) if sel.any() else cut
                agg = _aggregate(t, ~sel, cut, bucket, detail_end, pid, tid, origin)
                stats["aggregated_slices"] += len(agg)
                emit(agg)
        for c in counters:
            pid = pids[id(c)][0]
            name = js(c.name)
            head = f'{{"ph":"C","name":{name},"pid":{pid},"ts":'
            emit(f'{head}{ts},"args":{{"value":{v}}}}}' for ts, v in zip(
                _us_col(c.ts_ns.astype(np.int64) - origin), _nums(np.asarray(c.value)),
                strict=True))
            stats["counter_events"] += int(c.ts_ns.shape[0])
        f.write("\n]}\n")
    stats["bytes"] = path.stat().st_size
    return stats


def _assign_ids(slices: list[SliceTrack], counters: list[CounterTrack]
                ) -> dict[int, tuple[int, int]]:
    """(pid, tid) per track: real ones where given, else a made-up process per group."""
    group_pid: dict[str, int] = {}
    for t in slices:
        if t.pid is not None:
            group_pid.setdefault(t.group, t.pid)
    nxt = EXTRA_PID_BASE
    out: dict[int, tuple[int, int]] = {}
    used: dict[int, set[int]] = {}
    for t in [*slices, *counters]:
        if t.group not in group_pid:
            group_pid[t.group] = nxt
            nxt += 1
        pid = t.pid if t.pid is not None else group_pid[t.group]
        if isinstance(t, SliceTrack):
            taken = used.setdefault(pid, set())
            tid = t.tid if t.tid is not None and t.tid not in taken else max(
                taken | {pid}) + 1
            taken.add(tid)
            out[id(t)] = (pid, tid)
        else:
            out[id(t)] = (pid, 0)
    return out


def _metadata(slices: list[SliceTrack], counters: list[CounterTrack],
              pids: dict[int, tuple[int, int]], process_name: str) -> list[str]:
    out = []
    named: set[int] = set()
    for t in [*slices, *counters]:
        pid, tid = pids[id(t)]
        if pid not in named:
            named.add(pid)
            pname = process_name if t.group == "pipeline" else t.group
            out.append(f'{{"ph":"M","name":"process_name","pid":{pid},"tid":0,'
                       f'"args":{{"name":{js(pname)}}}}}')
            order = 0 if t.group == "pipeline" else 1 if t.group == "pipesight" else 2
            out.append(f'{{"ph":"M","name":"process_sort_index","pid":{pid},"tid":0,'
                       f'"args":{{"sort_index":{order}}}}}')
        if isinstance(t, SliceTrack):
            out.append(f'{{"ph":"M","name":"thread_name","pid":{pid},"tid":{tid},'
                       f'"args":{{"name":{js(t.name)}}}}}')
            if t.sort_index is not None:
                out.append(f'{{"ph":"M","name":"thread_sort_index","pid":{pid},"tid":{tid},'
                           f'"args":{{"sort_index":{t.sort_index}}}}}')
    return out


def _detail(t: SliceTrack, sel: np.ndarray, pid: int, tid: int, origin: int) -> list[str]:
    idx = np.flatnonzero(sel)
    if idx.shape[0] == 0:
        return []
    names = [js(x) for x in t.labels]
    if isinstance(t.category, str):
        cats = [js(t.category)] * idx.shape[0]
    else:
        cnames = [js(c) for c in t.categories]
        cats = [cnames[i] for i in t.category[idx].tolist()]
    start = _us_col(t.start_ns[idx] - origin)
    dur = _us_col(np.maximum(t.end_ns[idx] - t.start_ns[idx], 0))
    lab = [names[i] for i in t.label[idx].tolist()]
    cols = [[key + v for v in _nums(np.asarray(a)[idx])] for key, a in
            ((js(k) + ":", a) for k, a in t.args.items())]
    args = list(map(",".join, zip(*cols, strict=True))) if cols else [""] * idx.shape[0]
    head = f',"pid":{pid},"tid":{tid},"ts":'
    return [f'{{"ph":"X","cat":{c},"name":{n}{head}{s},"dur":{d},"args":{{{a}}}}}'
            for c, n, s, d, a in zip(cats, lab, start, dur, args, strict=True)]


def _aggregate(t: SliceTrack, sel: np.ndarray, cut: int, bucket: int, detail_end: int,
               pid: int, tid: int, origin: int) -> list[str]:
    """One slice per (bucket, name): its busy time laid end to end from the bucket's start,
    shrunk together if they would not fit (they never overlap each other or the detail)."""
    idx = np.flatnonzero(sel)
    if idx.shape[0] == 0:
        return []
    busy = (t.busy_ns if t.busy_ns is not None else t.end_ns - t.start_ns)[idx].astype(float)
    b = (t.start_ns[idx] - cut) // bucket
    nl = len(t.labels)
    key = b * nl + t.label[idx]
    uk, inv = np.unique(key, return_inverse=True)
    tot = np.bincount(inv, weights=np.maximum(busy, 0.0))
    calls = np.bincount(inv)
    ub, ul = uk // nl, uk % nl
    order = np.lexsort((-tot, ub))
    ub, ul, tot, calls = ub[order], ul[order], tot[order], calls[order]
    b0 = cut + ub * bucket
    begin = np.maximum(b0, detail_end)
    room = np.maximum(b0 + bucket - begin, 0).astype(float)
    # offsets within each bucket
    csum = np.cumsum(tot)
    first = np.flatnonzero(np.r_[True, ub[1:] != ub[:-1]])
    grp = np.cumsum(np.r_[True, ub[1:] != ub[:-1]]) - 1
    before = csum - tot - (csum[first] - tot[first])[grp]
    fill = np.bincount(grp, weights=tot)[grp]
    scale = np.where(fill > room, room / np.maximum(fill, 1.0), 1.0)
    ts = begin + np.floor(before * scale).astype(np.int64)
    dur = np.floor(tot * scale).astype(np.int64)
    keep = dur > 0
    names = [js(x) for x in t.labels]
    head = '{"ph":"X","cat":"aggregated","name":'
    ids = f',"pid":{pid},"tid":{tid},"ts":'
    tail = f',"bucket_ns":{bucket}}}}}'
    return [f'{head}{names[lab]}{ids}{s},"dur":{d},"args":{{"calls":{n},"busy_ns":{b}{tail}'
            for lab, s, d, n, b in zip(ul[keep].tolist(), _us_col(ts[keep] - origin),
                                       _us_col(dur[keep]), calls[keep].tolist(),
                                       _nums(np.rint(tot[keep]).astype(np.int64)), strict=True)]
