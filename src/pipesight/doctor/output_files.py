"""Files a pipeline should have written and did not: a filesink (multifilesink, splitmuxsink)
whose file is empty or missing after a run that reported no error. The sizes are taken
right after `pipesight doctor -- COMMAND` ran (RUN/doctor/outputs.json); the tracer's
records then say why: no buffer reached the sink (and where the buffers stopped), or buffers
reached it and it dropped them (a sink drops buffers outside its segment: an element upstream
stamped them with an impossible time), or the process was killed before the sink flushed."""

from __future__ import annotations

import contextlib
import json
import re
import socket
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from pipesight.doctor.evidence import finish
from pipesight.doctor.inputs import DoctorInput
from pipesight.findings import Evidence, Finding, fact
from pipesight.readers.dot import DotGraph
from pipesight.trace import Trace

RECORD = Path("doctor") / "outputs.json"
WRITERS = {"GstFileSink": "filesink", "GstMultiFileSink": "multifilesink",
           "GstSplitMuxSink": "splitmuxsink"}
BAD_PTS = np.int64(-2)  # int64 view of a GstClockTime at or past 2^63 ns (-1 is "none")
SINK_DOC = "https://gstreamer.freedesktop.org/documentation/base/gstbasesink.html"


@dataclass
class OutputFile:
    element: str
    factory: str
    location: str  # as the element has it; a pattern for multifilesink and splitmuxsink
    bytes: int | None  # all files together; None: no file
    files: int


# ---------------------------------------------------------------- the files


def locations(graphs: list[DotGraph], command: list[str]) -> list[tuple[str, str, str]]:
    """(element, factory, location) of every file writer, from the pipeline graphs, else
    from a gst-launch-1.0 command line."""
    out: dict[str, tuple[str, str, str]] = {}
    for g in graphs:
        for e in g.topology.leaf_elements():
            fac = WRITERS.get(e.type or "")
            loc = str(e.props.get("location") or "").strip().strip('"')
            if fac and loc:
                out[e.name] = (e.name, fac, loc)
    if not out and command and Path(command[0]).name.startswith("gst-launch"):
        counters: dict[str, int] = {}
        segment: list[str] = []
        for arg in [*command[1:], "!"]:
            if arg != "!":
                segment.append(arg)
                continue
            fac = segment[0] if segment else ""
            if fac in WRITERS.values():
                n = counters.get(fac, 0)
                counters[fac] = n + 1
                props = dict(w.split("=", 1) for w in segment[1:] if "=" in w)
                if props.get("location"):
                    name = props.get("name", f"{fac}{n}")
                    out[name] = (name, fac, props["location"])
            segment = []
    return list(out.values())


def measure(element: str, factory: str, location: str, cwd: Path) -> OutputFile:
    path = Path(location) if Path(location).is_absolute() else cwd / location
    if factory == "filesink":
        try:
            return OutputFile(element, factory, str(path), path.stat().st_size, 1)
        except OSError:
            return OutputFile(element, factory, str(path), None, 0)
    # a printf pattern (frame%05d.jpg): every file it can name
    glob = re.sub(r"%0?\d*[diu]", "*", path.name)
    files = [p for p in path.parent.glob(glob) if p.is_file()] if path.parent.is_dir() else []
    size = sum(p.stat().st_size for p in files) if files else None
    return OutputFile(element, factory, str(path), size, len(files))


def record(run_dir: Path, graphs: list[DotGraph], command: list[str]) -> None:
    """RUN/doctor/outputs.json: each writer's output as found right after the run."""
    outs = [measure(*loc, Path.cwd()) for loc in locations(graphs, command)]
    if not outs:
        return
    with contextlib.suppress(OSError):
        (run_dir / RECORD).parent.mkdir(exist_ok=True)
        (run_dir / RECORD).write_text(json.dumps(
            {"host": socket.gethostname(), "outputs": [asdict(o) for o in outs]}, indent=2))


def _recorded(run_dir: Path) -> list[OutputFile]:
    try:
        doc = json.loads((run_dir / RECORD).read_text())
        return [OutputFile(**o) for o in doc["outputs"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


# ---------------------------------------------------------------- the explanation


def analyze(inp: DoctorInput) -> list[Finding]:
    if any(r.level == "ERROR" for r in inp.log.records) or inp.hang is not None:
        return []  # an error or a hang explains a missing file better
    out = []
    for run_dir in inp.run_dirs:
        outs = _recorded(run_dir)
        if not outs:
            continue
        trace = _trace(run_dir)
        for o in outs:
            if o.bytes is None or o.bytes == 0:
                out.append(_finding(inp, run_dir, o, trace))
    return out


def _trace(run_dir: Path) -> Trace | None:
    from pipesight.errors import UserError
    from pipesight.readers import pipesight_trace

    t = Trace()
    try:
        return t if pipesight_trace.load_into(t, run_dir / "trace") else None
    except UserError:
        return None


def _finding(inp: DoctorInput, run_dir: Path, o: OutputFile, trace: Trace | None) -> Finding:
    what = "no file" if o.bytes is None else ("empty files" if o.files > 1 else "0 bytes")
    ev: list[Evidence] = [fact(str(run_dir / RECORD), f"{o.element} location={o.location}: "
                               f"{what}", "outputs")]
    why, fix = _why(inp, o, trace, ev)
    return finish(Finding(
        code="output-empty", title=f"{o.element} wrote {what} to {o.location}",
        severity="critical", subject=o.element, element=o.element, evidence=ev, fix=fix,
        detail=f"The run reported no error, yet {o.element} ({o.factory}) left {what}. " + why,
        references=[SINK_DOC]))


def _why(inp: DoctorInput, o: OutputFile, trace: Trace | None, ev: list[Evidence]
         ) -> tuple[str, str]:
    if trace is None or not trace.has_flow:
        return ("No tracer records say how far the buffers got.",
                "Run it with `pipesight doctor -- COMMAND` to see where the data stopped.")
    topo = trace.topology
    sink = topo.by_name(o.element)
    f = trace.flow
    into = f.dst_element == sink.id if sink is not None else np.zeros(len(f), bool)
    n = int(f.count[into].sum())
    if n == 0:
        return _nothing_arrived(inp, trace, o, ev)
    size = int(f.size[into].sum())
    bad = into & (f.pts <= BAD_PTS)
    ev.append(fact("tracer", f"{n} buffers ({size} bytes) entered {o.element}; "
                   f"{int(f.count[bad].sum())} of them stamped at or past 2^63 ns", "tracer"))
    if bad.any():
        return _bad_times(trace, o, bad, ev)
    ended = str(inp.manifest.get("ended_by") or "")
    if "killed" in ended or inp.manifest.get("signal") == "SIGKILL":
        return (f"{n} buffers ({size} bytes) reached it, but the process was killed "
                f"({ended}) before {o.element} flushed what it had buffered.",
                "Stop the pipeline with end-of-stream (gst-launch-1.0 -e, or an EOS event "
                "from the application) rather than killing it.")
    return (f"{n} buffers ({size} bytes) reached it and it wrote none: a sink drops buffers "
            "that fall outside its segment, or that arrive too late when it syncs to the "
            "clock.", f"Check the timestamps of the buffers entering {o.element} (identity "
            "silent=false before it), or set sync=false on it.")


def _nothing_arrived(inp: DoctorInput, trace: Trace, o: OutputFile, ev: list[Evidence]
                     ) -> tuple[str, str]:
    f = trace.flow
    took = np.bincount(f.dst_element[f.dst_element >= 0], weights=f.count[f.dst_element >= 0])
    gave = np.bincount(f.src_element[f.src_element >= 0], weights=f.count[f.src_element >= 0])
    stuck = [e for e in range(took.shape[0]) if took[e] > 0
             and (e >= gave.shape[0] or gave[e] == 0) and trace.topology.name(e) != o.element]
    if not stuck:
        return ("No buffer reached it.", "See where the data stops with `pipesight profile`.")
    e = stuck[0]
    name = trace.topology.name(e)
    ev.append(fact("tracer", f"{name} took {int(took[e])} buffers and passed none on", "tracer"))
    stopped = str(inp.manifest.get("ended_by") or "exit")
    return (f"No buffer reached it: {name} took {int(took[e])} buffers and passed none on "
            f"(the run ended: {stopped}). An encoder or muxer may hold its output until it has "
            "enough input or until end-of-stream.",
            f"Find why {name} produces nothing: its caps and properties (GST_DEBUG={name}:5), "
            "and stop the pipeline with end-of-stream (gst-launch-1.0 -e) so that it flushes.")


def _bad_times(trace: Trace, o: OutputFile, bad: np.ndarray, ev: list[Evidence]
               ) -> tuple[str, str]:
    f = trace.flow
    topo = trace.topology
    maker = int(np.bincount(f.src_element[bad & (f.src_element >= 0)]).argmax()) \
        if (bad & (f.src_element >= 0)).any() else -1
    name = topo.name(maker) if maker >= 0 else "an element upstream"
    stamp = _clock(int(f.pts[bad][0]))
    fed = (f.dst_element == maker) & (f.pts >= 0)
    before = ""
    if maker >= 0 and fed.any():
        lo, hi = int(f.pts[fed].min()), int(f.pts[fed].max())
        before = f" (the buffers it received were stamped {_clock(lo)} to {_clock(hi)})"
        ev.append(fact("tracer", f"into {name}: PTS {_clock(lo)} to {_clock(hi)}; out of it: "
                       f"PTS {stamp}", "tracer"))
    caps = _caps_out(trace, maker)
    example = (f" (here, MPEG-4 video: {name} ! mpeg4videoparse ! avimux ! {o.factory})"
               if "video/mpeg" in caps and "mpegversion=(int)4" in caps else "")
    return (f"Its buffers carry the timestamp {stamp}, 2^63 ns or more: not a time a stream "
            f"can have. {name} put it on them{before}. A sink drops every buffer outside its "
            f"segment, so {o.element} wrote none: the data was there, its times were not.",
            f"Let a muxer that writes its own times make the file: a parser and a muxer after "
            f"{name}{example}, or use another element in place of {name}.")


def _caps_out(trace: Trace, eid: int) -> str:
    """What an element sends (caps events are recorded on the src pad that pushes them)."""
    return " ".join(p.caps or "" for p in trace.topology.element_pads(eid, "src"))


def _clock(ns: int) -> str:
    """A GstClockTime as GStreamer prints it (H:MM:SS.nnnnnnnnn), from its int64 view."""
    u = ns % (1 << 64)
    s, frac = divmod(u, 1_000_000_000)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:09d}"

