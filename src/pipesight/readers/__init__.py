"""One module per input format; each turns a file into parts of the trace model and never
judges. ``load`` recognises an input by its content, not its name."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipesight.errors import UserError
from pipesight.trace import Trace

HEAD = 1 << 16


@dataclass(frozen=True)
class Format:
    name: str
    sniff: Callable[[bytes, Path], bool]
    load: Callable[[Path], Trace]


def _load_tracer_log(path: Path) -> Trace:
    from pipesight.readers import gst_tracer_log

    t = Trace()
    gst_tracer_log.load_into(t, path)
    return t


def _sniff_tracer_log(head: bytes, path: Path) -> bool:
    from pipesight.readers.gst_tracer_log import looks_like_tracer_log

    return looks_like_tracer_log(head)


def _sniff_tegrastats(head: bytes, path: Path) -> bool:
    from pipesight.readers.tegrastats import looks_like_tegrastats

    return looks_like_tegrastats(head)


def _load_tegrastats(path: Path) -> Trace:
    from pipesight.readers import tegrastats

    return tegrastats.load(path)


def _sniff_deepstream(head: bytes, path: Path) -> bool:
    from pipesight.readers.deepstream import looks_like_deepstream

    return looks_like_deepstream(head)


def _load_deepstream(path: Path) -> Trace:
    from pipesight.readers import deepstream

    return deepstream.load(path)


def _sniff_nsys_sqlite(head: bytes, path: Path) -> bool:
    from pipesight.readers.nsys import looks_like_nsys_sqlite

    return looks_like_nsys_sqlite(head, path)


def _sniff_nsys_rep(head: bytes, path: Path) -> bool:
    from pipesight.readers.nsys import looks_like_nsys_rep

    return looks_like_nsys_rep(head, path)


def _load_nsys_sqlite(path: Path) -> Trace:
    from pipesight.readers import nsys

    return nsys.load(path)


def _load_nsys_rep(path: Path) -> Trace:
    from pipesight.readers import nsys

    return nsys.load_rep(path)


FORMATS: list[Format] = [
    Format("GStreamer tracer log", _sniff_tracer_log, _load_tracer_log),
    Format("tegrastats log", _sniff_tegrastats, _load_tegrastats),
    Format("DeepStream PERF/latency output", _sniff_deepstream, _load_deepstream),
    Format("Nsight Systems SQLite export", _sniff_nsys_sqlite, _load_nsys_sqlite),
    Format("Nsight Systems report", _sniff_nsys_rep, _load_nsys_rep),
]


def load(path: Path) -> tuple[Trace, str]:
    """Any input pipesight analyses (a pipe is read whole first: readers/source.py)."""
    from pipesight.readers import source

    local = source.resolve(path)
    if local == path:
        return _load(path)
    try:
        trace, kind = _load(local)
    except UserError as e:
        raise UserError(source.unspool(str(e)), e.exit_code) from None
    trace.inputs = [source.unspool(x) for x in trace.inputs]
    trace.notes = [source.unspool(x) for x in trace.notes]
    return trace, kind


def _load(path: Path) -> tuple[Trace, str]:
    from pipesight.readers import run_dir

    if path.is_dir():
        repeats = run_dir.repeat_dirs(path)
        if repeats is not None:
            raise UserError(f"{path}: a repeated run (profile --repeat); each repeat is a run "
                            "directory of its own: "
                            + ", ".join(str(p.relative_to(path)) for p in repeats))
        if run_dir.is_run_dir(path):
            return run_dir.load(path), "run directory"
        raise UserError(f"{path}: a directory, but not a pipesight run directory "
                        "(no manifest.json or trace/events-*.bin)")
    try:
        with open(path, "rb") as f:
            head = f.read(HEAD)
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    if not head:
        raise UserError(f"{path}: the file is empty")
    for fmt in FORMATS:
        if fmt.sniff(head, path):
            return fmt.load(path), fmt.name
    from pipesight.readers.gst_tracer_log import looks_like_gst_debug_log

    if looks_like_gst_debug_log(head):
        raise UserError(f"{path}: a GStreamer debug log without tracer records; "
                        "`pipesight doctor` explains failures from such logs")
    if b"\x00" in head[:4096]:
        raise UserError(f"{path}: a binary file pipesight does not read")
    raise UserError(f"{path}: not a format pipesight reads (GStreamer tracer log, run directory"
                    ", Nsight Systems export, DeepStream or tegrastats output)")
