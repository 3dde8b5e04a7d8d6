"""Everything doctor reads, from a run directory or from the files a user already has: the
debug log and gst-launch-1.0's output, DOT dumps, the tracer's records (states, messages, the
calls each thread was inside when it stalled), native stacks, a deepstream-app config."""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipesight.doctor import stacks as stackmod
from pipesight.errors import UserError
from pipesight.readers import deepstream_config, dot, gst_debug_log
from pipesight.readers import manifest as manifest_reader
from pipesight.readers.checks import clean_json, is_number, json_object, text
from pipesight.readers.dot import DotGraph
from pipesight.readers.gst_debug_log import DebugLog


@dataclass
class DotDump:
    path: Path
    graph: DotGraph

    @property
    def label(self) -> str:
        return self.path.name


@dataclass
class OpenCall:
    """A push or pull a thread entered and never left (the tracer saw no return)."""

    src: str  # "t.src_1"
    sink: str  # "queue1.sink"
    sink_element: str | None
    sink_factory: str | None


@dataclass
class Hang:
    reason: str
    at_s: float | None
    threads: list[stackmod.ThreadStack] = field(default_factory=list)
    open_calls: dict[int, list[OpenCall]] = field(default_factory=dict)  # os tid -> calls
    note: str | None = None
    source: str = "doctor/hang.json"


@dataclass
class DoctorInput:
    log: DebugLog = field(default_factory=DebugLog)
    dots: list[DotDump] = field(default_factory=list)
    states: list[dict[str, Any]] = field(default_factory=list)  # tracer state records
    element_factories: dict[str, str] = field(default_factory=dict)  # name -> factory
    capsfilters: dict[str, str] = field(default_factory=dict)  # gst-launch caps filter -> caps
    ds: deepstream_config.DsAppConfig | None = None
    hang: Hang | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    verdict: dict[str, Any] | None = None  # verdict.json of a profiled run
    command: list[str] = field(default_factory=list)
    benchmark: bool = False
    inputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    run_dirs: list[Path] = field(default_factory=list)  # run directories with tracer records
    on_this_machine: bool = False  # gst-inspect-1.0 answers describe the machine that ran it

    def factory(self, element: str | None) -> str | None:
        """The factory of an element name, from the tracer, the command line or its name."""
        if not element:
            return None
        if element in self.element_factories:
            return self.element_factories[element]
        return None

    def latest_dot(self) -> DotDump | None:
        return self.dots[-1] if self.dots else None


# ---------------------------------------------------------------- loading

def load(paths: list[Path], benchmark: bool = False) -> DoctorInput:
    from pipesight.readers.source import resolve

    inp = DoctorInput(benchmark=benchmark)
    for given in paths:
        p = resolve(given)  # a pipe is read whole first; a device is refused
        if p.is_dir():
            _load_dir(inp, p)
        else:
            _load_file(inp, p)
    return inp


def _load_file(inp: DoctorInput, p: Path) -> None:
    try:
        with open(p, "rb") as f:
            head = f.read(1 << 16)
    except OSError as e:
        raise UserError(f"cannot read {p}: {e.strerror}") from None
    if not head.strip():
        raise UserError(f"{p}: the file is empty")
    if b"\x00" in head[:4096]:
        raise UserError(f"{p}: a binary file; doctor reads GStreamer debug logs, gst-launch-1.0 "
                        "output, DOT graphs and deepstream-app configs")
    inp.inputs.append(str(p))
    if dot.looks_like_dot(head):
        inp.dots.append(DotDump(p, dot.read(p)))
        return
    if deepstream_config.sniff(head):
        inp.ds = deepstream_config.read(p)
        return
    if gst_debug_log.sniff(head):
        inp.log.extend(gst_debug_log.read(p))
        return
    log = gst_debug_log.read(p)  # a record may start past the first 64 KiB
    if log.gst_records:
        inp.log.extend(log)
        return
    raise UserError(f"{p}: neither a GStreamer debug log, gst-launch-1.0 output, a DOT graph nor "
                    "a deepstream-app config (no GStreamer record in it)")


def _load_dir(inp: DoctorInput, d: Path) -> None:
    found = False
    man = d / "manifest.json"
    if man.is_file():
        inp.manifest, notes = manifest_reader.read(man)
        inp.notes.extend(notes)
        inp.command = list(inp.manifest.get("command") or [])
        found = True
    for name in ("gst.log", "stderr.log", "stdout.log"):
        f = d / name
        if f.is_file() and f.stat().st_size > 0:
            inp.log.extend(gst_debug_log.read(f, name))
            inp.inputs.append(str(f))
            found = True
    dots = [f for f in sorted((d / "dot").glob("*.dot")) + sorted(d.glob("*.dot"))
            if f.is_file()]
    for f in dots:
        try:
            inp.dots.append(DotDump(f, dot.read(f)))
            inp.inputs.append(str(f))
            found = True
        except UserError as e:
            inp.notes.append(str(e))
    tdir = d / "trace"
    if tdir.is_dir():
        _load_tracer_defs(inp, tdir)
        found = True
        inp.run_dirs.append(d)
    verdict = d / "verdict.json"
    if verdict.is_file():
        with contextlib.suppress(ValueError, OSError, RecursionError):
            v = json.loads(verdict.read_bytes())
            # what doctor reads of it: the bottleneck's element; a damaged one is left out
            b = v.get("bottleneck") if isinstance(v, dict) else None
            if isinstance(b, dict) and isinstance(b.get("element"), str | None):
                inp.verdict = {"bottleneck": clean_json(b)}
    hang = d / "doctor" / "hang.json"
    if hang.is_file():
        inp.hang = _load_hang(d / "doctor", hang, tdir)
        found = True
    if not found:
        raise UserError(f"{d}: a directory without anything doctor reads (no manifest.json, "
                        "gst.log, *.dot or trace/)")
    _factories_from_command(inp)


def _load_tracer_defs(inp: DoctorInput, tdir: Path) -> None:
    from pipesight.readers.pipesight_trace import read_defs

    for defs_path in [p for p in sorted(tdir.glob("defs-*.jsonl")) if p.is_file()]:
        defs, notes = read_defs(defs_path)
        inp.notes.extend(notes)
        names: dict[int, str] = {}
        for rec in defs:
            if rec.get("t") == "element":
                names[int(rec["id"])] = str(rec.get("name"))
                if rec.get("factory"):
                    inp.element_factories.setdefault(str(rec.get("name")), str(rec["factory"]))
            elif rec.get("t") == "state":
                inp.states.append({**rec, "element": names.get(int(rec["element"]), "?")})
        inp.inputs.append(str(defs_path))


def _factories_from_command(inp: DoctorInput) -> None:
    """gst-launch-1.0 FACTORY name=NAME ...: the factory of every element the user named."""
    cmd = inp.command
    if not cmd or not Path(cmd[0]).name.startswith("gst-launch"):
        return
    counters: dict[str, int] = {}
    for chunk in " ".join(a for a in cmd[1:] if not a.startswith("-")).split("!"):
        words = chunk.split()
        words = [w for w in words if not re.match(r"^[\w-]+\.[\w%-]*$", w)]  # 't.' pad refs
        if not words or "=" in words[0].split(",", 1)[0]:
            continue
        if "/" in words[0].split(",", 1)[0]:  # caps between '!': gst-launch makes a capsfilter
            n = counters.get("capsfilter", 0)
            counters["capsfilter"] = n + 1
            inp.capsfilters[f"capsfilter{n}"] = " ".join(words)
            inp.element_factories.setdefault(f"capsfilter{n}", "capsfilter")
            continue
        fac = words[0]
        name = next((w.split("=", 1)[1] for w in words[1:] if w.startswith("name=")), None)
        if name is None:
            n = counters.get(fac, 0)
            counters[fac] = n + 1
            name = f"{fac}{n}"
        inp.element_factories.setdefault(name.strip("\"'"), fac)


def _load_hang(ddir: Path, hang_json: Path, tdir: Path) -> Hang:
    info = json_object(hang_json.read_bytes()) if hang_json.stat().st_size < 64 << 20 else None
    if info is None:
        return Hang("unreadable doctor/hang.json", None, note="hang.json is damaged")
    at = info.get("at_s")
    h = Hang(text(info.get("reason")) or "stalled", float(at) if is_number(at) else None,
             source=str(hang_json))
    procs = info.get("processes")
    for proc in procs if isinstance(procs, list) else []:
        if not isinstance(proc, dict):
            continue
        threads = proc.get("threads")
        names = {int(k): str(v) for k, v in (threads.items() if isinstance(threads, dict)
                                             else ()) if str(k).isdigit() and len(str(k)) < 12}
        f = proc.get("stacks")
        # a file name beside hang.json, nothing else (the file is the user's to edit)
        if isinstance(f, str) and "/" not in f and f not in ("", ".", "..") and (
                ddir / f).is_file():
            h.threads.extend(stackmod.parse((ddir / f).read_text(errors="replace"), names))
    if not info.get("eu_stack"):
        h.note = "eu-stack (elfutils) is not installed: native stacks were not recorded"
    if tdir.is_dir():
        h.open_calls = open_calls(tdir)
    return h


def open_calls(tdir: Path) -> dict[int, list[OpenCall]]:
    """Per OS thread, the pushes and pulls it entered and never returned from, outermost first."""
    from pipesight.readers import pipesight_trace as pt
    from pipesight.tracer import layout

    out: dict[int, list[OpenCall]] = {}
    for pid, ev, defs_path in pt.find_processes(tdir):
        try:
            recs, _, _ = pt.read_events(ev)
        except UserError:
            continue
        defs, _ = pt.read_defs(defs_path)
        elements = {int(d["id"]): d for d in defs if d.get("t") == "element"}
        pads = {int(d["id"]): d for d in defs if d.get("t") == "pad"}

        def label(pad_id: int, pads=pads, elements=elements
                  ) -> tuple[str, str | None, str | None]:
            p = pads.get(pad_id)
            if p is None:
                return f"pad{pad_id}", None, None
            e = elements.get(int(p.get("element") or 0))
            ename = str(e.get("name")) if e else None
            return f"{ename or '?'}.{p.get('name')}", ename, (e or {}).get("factory")

        stacks: dict[int, list[tuple[int, int]]] = {}
        for r in recs[recs["ts"].argsort(kind="stable")]:
            k, tid = int(r["kind"]), int(r["tid"])
            st = stacks.setdefault(tid, [])
            if k in (layout.PUSH_PRE, layout.LIST_PRE, layout.PULL_PRE):
                st.append((int(r["pad"]), int(r["peer"])))
            elif k in (layout.PUSH_POST, layout.LIST_POST, layout.PULL_POST) and st:
                st.pop()
        for tid, st in stacks.items():
            calls = []
            for pad, peer in st:
                a, _, _ = label(pad)
                b, be, bf = label(peer)
                calls.append(OpenCall(a, b, be, bf))
            if calls:
                out[tid] = calls
        del pid
    return out
