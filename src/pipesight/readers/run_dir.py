"""Reads a run directory written by `pipesight profile` back into a Trace."""

from __future__ import annotations

import json
from pathlib import Path

from pipesight.errors import UserError
from pipesight.readers import (
    clocks,
    dot,
    gst_tracer_log,
    hw_samples,
    nsys,
    pipesight_trace,
    proc_samples,
    py_callbacks,
    watch_intervals,
)
from pipesight.readers import manifest as manifest_reader
from pipesight.trace import Trace
from pipesight.trace.ceiling import Ceiling


def is_run_dir(path: Path) -> bool:
    return path.is_dir() and (
        (path / "manifest.json").is_file() or any((path / "trace").glob("events-*.bin"))
        or any(path.glob("events-*.bin"))
    )


def repeat_dirs(path: Path) -> list[Path] | None:
    """The repeats of a `profile --repeat N` directory (RUN/manifest.json's ``repeats``:
    repeats/1 ... repeats/N), or None where ``path`` is no such directory."""
    manifest = path / "manifest.json"
    if not path.is_dir() or not manifest.is_file():
        return None
    try:
        m = json.loads(manifest.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    reps = m.get("repeats") if isinstance(m, dict) else None
    if not isinstance(reps, list):
        return None
    root = path.resolve()
    out = []
    for r in reps:
        # only directories inside the run directory: a manifest does not send a reader away
        if isinstance(r, str) and (path / r).resolve().is_relative_to(root):
            out.append(path / r)
    return out


def load(path: Path, intervals: bool = True) -> Trace:
    """``intervals``: read a watch run's interval log too (what its report draws); watch
    itself judges each interval without it, since the log grows with the run."""
    trace = Trace()
    manifest = path / "manifest.json"
    if manifest.is_file():
        trace.run, notes = manifest_reader.read(manifest)
        trace.notes.extend(notes)
    if isinstance(trace.run.get("ceiling"), dict):
        try:
            trace.ceiling = Ceiling.from_dict(trace.run["ceiling"])
        except (KeyError, TypeError, ValueError):
            trace.notes.append("manifest.json: the model ceiling recorded is unreadable")
    tdir = path / "trace" if (path / "trace").is_dir() else path
    have_frames = pipesight_trace.load_into(trace, tdir)
    py_callbacks.load_into(trace, tdir)
    log = path / "gst.log"
    if log.is_file() and log.stat().st_size > 0:
        with open(log, "rb") as f:
            head = f.read(1 << 20)
        if gst_tracer_log.looks_like_tracer_log(head):
            if have_frames:
                # the flow comes from pipesight's tracer; take only what it does not record
                side = Trace()
                gst_tracer_log.load_into(side, log)
                trace.latency = side.latency
                trace.extras.update(side.extras)
                trace.notes.extend(side.notes)
                trace.inputs.extend(side.inputs)
            else:
                gst_tracer_log.load_into(trace, log)
    _load_graphs(trace, path)
    if intervals:
        trace.intervals, notes = watch_intervals.read(path)
        trace.notes.extend(notes)
    trace.samples = hw_samples.read_run(path, trace.run)
    _load_nsys(trace, path)
    clocks.align(trace)
    if not have_frames and not trace.has_flow and not trace.latency and trace.gpu is None:
        if not trace.run and trace.samples is None:
            raise UserError(f"{path}: no trace records found in this directory")
        trace.notes.append("the run recorded no trace records")
    start = trace.run.get("start_monotonic_ns")
    if start is not None and trace.monotonic_offset_ns is not None:
        trace.run_start_ts = int(start) - trace.monotonic_offset_ns
    err = path / "stderr.log"
    if err.is_file():
        with open(err, "rb") as f:
            f.seek(max(err.stat().st_size - 4096, 0))
            tail = f.read().decode("utf-8", "replace").splitlines()[-12:]
        trace.extras["stderr_tail"] = tail
    if trace.samples is not None:
        if start is not None:  # sample times count from the run's start
            trace.samples.origin_ns = trace.run_start_ts
        trace.notes.extend(trace.samples.notes)
    cpu, notes = proc_samples.read(path / "samples" / "proc.jsonl", trace.monotonic_offset_ns)
    trace.cpu = cpu
    trace.notes.extend(notes)
    return trace


def _load_nsys(trace: Trace, path: Path) -> None:
    """RUN/nsys.sqlite (the export of RUN/nsys.nsys-rep, made here when nsys is at hand)."""
    db, rep = path / "nsys.sqlite", path / "nsys.nsys-rep"
    if not db.is_file() and rep.is_file():
        try:
            db = nsys.export_rep(rep)
        except UserError as e:
            trace.notes.append(str(e))
            return
    if db.is_file():
        nsys.load_into(trace, db)


def graph_files(run_dir: Path) -> list[Path]:
    """The pipeline graphs worth drawing: pipesight's own dumps as each pipeline started to
    play, else the last PAUSED -> PLAYING dump gst-launch-1.0 made."""
    d = run_dir / "dot"
    if not d.is_dir():
        return []
    # regular files only: a pipe of that name would never give its end
    ours = [p for p in sorted(d.glob("pipesight.*.playing.dot")) if p.is_file()]
    if ours:
        return ours
    return [p for p in sorted(d.glob("*PAUSED_PLAYING.dot")) if p.is_file()][-1:]


def _load_graphs(trace: Trace, path: Path) -> None:
    for p in graph_files(path):
        try:
            trace.graphs.append((p.name, dot.read(p)))
        except UserError as e:
            trace.notes.append(f"pipeline graph {p.name} unreadable: {e}")
