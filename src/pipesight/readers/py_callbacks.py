"""Reader for pipesight's Python hooks: pycb-PID.bin + pycb-PID.jsonl (capture/pyhooks).

Records are six little-endian int64: kernel thread id, start and end (CLOCK_MONOTONIC ns), the
thread's CPU time at both, and the callback's number, named in the JSON lines file. Times are
put on the tracer clock with the traced process's CLOCK_MONOTONIC offset."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from pipesight.trace import Trace
from pipesight.trace.timeline import Callbacks

RECORD = np.dtype([("tid", "<i8"), ("t0", "<i8"), ("t1", "<i8"), ("c0", "<i8"), ("c1", "<i8"),
                   ("name", "<i8")])
_BIN = re.compile(r"pycb-(\d+)\.bin$")


def load_into(trace: Trace, directory: Path) -> None:
    if trace.monotonic_offset_ns is None:
        return
    parts: list[Callbacks] = []
    names: list[str] = []
    for path in sorted(directory.glob("pycb-*.bin")):
        m = _BIN.search(path.name)
        if not m or not path.is_file():
            continue
        pid = int(m.group(1))
        raw = path.read_bytes()
        n = len(raw) // RECORD.itemsize
        if len(raw) % RECORD.itemsize:
            trace.notes.append(f"{path.name}: ends mid-record (the process ended mid-write)")
        recs = np.frombuffer(raw[: n * RECORD.itemsize], RECORD)
        local = _names(path.with_suffix(".jsonl"), trace)
        ok = (recs["t1"] >= recs["t0"]) & np.isin(recs["name"], list(local))
        if not ok.all():
            trace.notes.append(f"{path.name}: skipped {int((~ok).sum())} unreadable records")
        recs = recs[ok]
        # names of all processes in one list
        remap = {k: len(names) + i for i, k in enumerate(sorted(local))}
        names.extend(local[k] for k in sorted(local))
        threads = np.array([trace.thread_index(f"{pid}:{int(t)}", os_tid=int(t))
                            for t in recs["tid"].tolist()], np.int32)
        off = trace.monotonic_offset_ns
        parts.append(Callbacks(
            thread=threads, start=recs["t0"] - off, end=recs["t1"] - off,
            cpu=np.maximum(recs["c1"] - recs["c0"], 0),
            name=np.array([remap[int(x)] for x in recs["name"].tolist()], np.int32)))
        trace.inputs.append(str(path))
    if parts:
        cat = {f: np.concatenate([getattr(p, f) for p in parts])
               for f in ("thread", "start", "end", "cpu", "name")}
        trace.callbacks = Callbacks(**cat, names=names)


def _names(path: Path, trace: Trace) -> dict[int, str]:
    out: dict[int, str] = {}
    if not path.is_file():
        trace.notes.append(f"{path.name}: missing; Python callbacks are unnamed")
        return out
    for line in path.read_text(errors="replace").splitlines():
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(d, dict) and isinstance(d.get("id"), int) and isinstance(d.get("name"), str):
            out[d["id"]] = d["name"]
    return out
