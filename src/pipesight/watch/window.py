"""One interval written as a run directory: RUN/manifest.json, RUN/trace/ (a plain format 3
events file and a defs file per process), RUN/samples/. `pipesight analyze RUN` reads it like
any run, and the manifest's ``window_monotonic_ns`` makes it judge exactly the interval.

Each process's tracer time counts from its own start; here every process's times are moved
onto one base (the earliest process's), so that processes of one interval share a clock."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from pipesight.tracer.layout import HEADER, HEADER_SIZE, MAGIC, RECORD
from pipesight.watch.stream import Part


def events_bytes(recs: np.ndarray, pid: int) -> bytes:
    """A finished (not ring) format 3 events file holding ``recs``."""
    recs = recs.copy()
    recs["seq"] = np.arange(1, recs.shape[0] + 1, dtype=np.uint64)
    h = np.zeros(1, HEADER)
    h["magic"], h["version"], h["record_size"], h["header_size"] = MAGIC, 3, RECORD.itemsize, \
        HEADER_SIZE
    h["used"] = h["capacity"] = recs.nbytes
    h["pid"] = pid
    return h.tobytes().ljust(HEADER_SIZE, b"\0") + recs.tobytes()


def _put(path: Path, data: bytes | str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
    os.replace(tmp, path)


def write(run: Path, parts: list[Part], samples: dict[str, str], manifest: dict[str, Any],
          stderr_tail: bytes = b"") -> None:
    """Replace the window kept in ``run`` by this one (file by file, the manifest last)."""
    tdir, sdir = run / "trace", run / "samples"
    tdir.mkdir(parents=True, exist_ok=True)
    sdir.mkdir(parents=True, exist_ok=True)
    base = min((p.mono_offset for p in parts), default=0)
    keep: set[str] = set()
    for p in parts:
        shift = p.mono_offset - base  # >= 0
        recs = p.records.copy()
        recs["ts"] += np.uint64(shift)
        ev, df = f"events-{p.pid}.bin", f"defs-{p.pid}.jsonl"
        _put(tdir / ev, events_bytes(recs, p.pid))
        lines = []
        for d in p.defs:
            if "ts" in d and isinstance(d["ts"], int):
                d = {**d, "ts": d["ts"] + shift}
            lines.append(json.dumps(d, separators=(",", ":")))
        _put(tdir / df, "\n".join(lines) + "\n")
        keep |= {ev, df}
    for f in tdir.iterdir():  # processes not in this window
        if f.name not in keep:
            f.unlink(missing_ok=True)
    for name in ("proc.jsonl", "nvml.jsonl", "tegrastats.jsonl"):
        text = samples.get(name)
        if text:
            _put(sdir / name, text)
        else:
            (sdir / name).unlink(missing_ok=True)
    # where a run directory's reader looks for the command's last words (the whole output is
    # in RUN/logs/, rotated)
    _put(run / "stderr.log", stderr_tail)
    _put(run / "manifest.json", json.dumps(manifest, indent=2, default=str) + "\n")
