"""Reader for Jetson ``tegrastats`` output: one line per interval, JetPack 4 to 6 formats, with or
without the leading ``MM-DD-YYYY HH:MM:SS`` stamp.

A line is a run of fields; each JetPack release adds, renames or drops some:

  RAM used/totalMB (lfb ...)   SWAP used/totalMB (cached NMB)   IRAM ...
  CPU [load%@MHz,...,off]      (L4T 28 and older: cpu [a%,b%]@MHz)
  ENGINE load%@MHz | load%@[MHz,MHz] | load% | off | MHz  (GR3D_FREQ, EMC_FREQ, VIC, NVDEC, ...)
  sensor@tempC                 RAIL now/avg or RAIL nowmW/avgmW (VDD_*, POM_*, GPU, CPU, ...)

JetPack 4 prints NVDEC / NVENC (MSENC on older releases) as a bare number: the engine's clock
in MHz, not a load. It is kept as a clock ("NVDEC.freq") and never as a load.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np

from pipesight.errors import UserError
from pipesight.readers.text import clean_line, read_text_lines
from pipesight.trace import Trace
from pipesight.trace.samples import INDEX, SECONDS, Samples, Series

SOURCE = "tegrastats"
DEVICE = "jetson"

_STAMP = re.compile(r"^\s*(\d\d)-(\d\d)-(\d{4}) (\d\d):(\d\d):(\d\d)\s+")
# `ts`-style or hand-made prefixes: "[2018-08-23 16:30:36] : " or "2024-05-01T10:00:00.123 "
_ISO = re.compile(r"^\s*\[?(\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d(?:\.\d+)?)\]?\s*:?\s*")
_MEM = re.compile(r"\b(RAM|SWAP|IRAM) (\d+)/(\d+)([kKMG]?B)(?:\s*\((?:lfb|cached) [^)]*\))*")
_CPU = re.compile(r"\b[Cc][Pp][Uu] \[([^\]]*)\](?:@(\d+))?")
# ENGINE 12%@115 | 84%@[713] | 0%@[0,0] | 18% (names may end in _FREQ)
_LOAD = re.compile(r"\b([A-Z][A-Z0-9_]*) +(\d+(?:\.\d+)?)%(?:@\[?([\d,]+)\]?)?(?![\w/])")
_OFF = re.compile(r"\b([A-Z][A-Z0-9_]*) +off\b")
_TEMP = re.compile(r"\b([A-Za-z][A-Za-z0-9_]*)@(-?\d+(?:\.\d+)?)C\b")
_RAIL = re.compile(r"\b([A-Z][A-Z0-9_]*) +(\d+)(?:mW)?/(\d+)(?:mW)?(?![\w/])")
# engines printed as a bare clock in MHz (JetPack 4: NVDEC 716, MSENC 716; JetPack 5: VIC_FREQ 729)
_CLOCK = re.compile(
    r"\b(NVDEC\d?|NVENC\d?|MSENC|NVJPG\d?|VIC(?:_FREQ)?|APE|OFA|SE|NVDLA\d(?:_FREQ)?"
    r"|PVA\d(?:_FREQ)?|GR3D(?:_FREQ)?|EMC(?:_FREQ)?) +(\d+)(?![\w%/@])")
_MTS = re.compile(r"\bMTS fg (\d+)% bg (\d+)%")
_TOKEN = re.compile(r"\S+")

_UNIT_MB = {"kB": 1 / 1024, "KB": 1 / 1024, "B": 1 / 1024 / 1024, "MB": 1.0, "GB": 1024.0}
ABSENT_SENSOR_C = -256.0  # what tegrastats prints for a sensor that is not there


def engine_name(raw: str) -> str:
    """GR3D_FREQ -> GR3D, VIC_FREQ -> VIC, MSENC -> NVENC (the same engine, older name)."""
    name = raw[:-5] if raw.endswith("_FREQ") else raw
    return "NVENC" if name == "MSENC" else name


@dataclass
class TegraLine:
    stamp: datetime | None = None
    values: dict[str, tuple[float, str]] = field(default_factory=dict)  # counter -> (value, unit)
    unknown: list[str] = field(default_factory=list)  # tokens no rule read


def looks_like_tegrastats(head: bytes) -> bool:
    """A line among the first 50 with RAM/SWAP and CPU, GR3D or EMC fields."""
    for raw in head.decode("utf-8", "replace").splitlines()[:50]:
        line = clean_line(raw)
        if _MEM.search(line) and (_CPU.search(line) or "GR3D" in line or "EMC" in line):
            return True
    return False


def parse_line(raw: str) -> TegraLine | None:
    """One tegrastats line; None where the line is not one (no RAM and no CPU field)."""
    line = clean_line(raw)
    out = TegraLine()
    m = _STAMP.match(line)
    if m:
        mo, d, y, hh, mm, ss = (int(x) for x in m.groups())
        try:
            out.stamp = datetime(y, mo, d, hh, mm, ss)
        except ValueError:
            out.stamp = None
        line = line[m.end():]
    else:
        m = _ISO.match(line)
        if m:
            try:
                out.stamp = datetime.fromisoformat(m.group(1).replace(" ", "T"))
            except ValueError:
                out.stamp = None
            line = line[m.end():]
    covered = np.zeros(len(line), bool)

    def take(m: re.Match[str]) -> bool:
        if covered[m.start():m.end()].any():
            return False
        covered[m.start():m.end()] = True
        return True

    v = out.values
    saw_core = False
    for m in _MEM.finditer(line):
        take(m)
        kind, used, total, unit = m.group(1), float(m.group(2)), float(m.group(3)), m.group(4)
        scale = _UNIT_MB.get(unit, 1.0)
        if kind != "IRAM":
            v[f"{kind.lower()}_used"] = (used * scale, "MB")
            v[f"{kind.lower()}_total"] = (total * scale, "MB")
        saw_core = True
    for m in _CPU.finditer(line):
        take(m)
        saw_core = True
        shared = m.group(2)
        online = 0
        cores = [c.strip() for c in m.group(1).split(",") if c.strip()]
        for i, c in enumerate(cores):
            if c.lower() == "off":
                v[f"cpu{i}.load"] = (float("nan"), "%")
                continue
            online += 1
            cm = re.match(r"(\d+(?:\.\d+)?)%(?:@(\d+))?$", c)
            if not cm:
                out.unknown.append(f"CPU[{c}]")
                continue
            v[f"cpu{i}.load"] = (float(cm.group(1)), "%")
            freq = cm.group(2) or shared
            if freq:
                v[f"cpu{i}.freq"] = (float(freq), "MHz")
        v["cpus_online"] = (float(online), "count")
        v["cpus"] = (float(len(cores)), "count")
    if not saw_core:
        return None
    for m in _MTS.finditer(line):
        take(m)
    for m in _LOAD.finditer(line):
        if not take(m):
            continue
        name = engine_name(m.group(1))
        v[f"{name}.load"] = (float(m.group(2)), "%")
        if m.group(3):
            clocks = [float(x) for x in m.group(3).split(",") if x]
            if clocks:  # GR3D on Orin prints one clock per GPC: the busiest sets the pace
                v[f"{name}.freq"] = (max(clocks), "MHz")
    for m in _OFF.finditer(line):
        if take(m):
            v[f"{engine_name(m.group(1))}.load"] = (0.0, "%")
    for m in _CLOCK.finditer(line):
        if take(m):
            v[f"{engine_name(m.group(1))}.freq"] = (float(m.group(2)), "MHz")
    for m in _TEMP.finditer(line):
        if not take(m):
            continue
        c = float(m.group(2))
        if c > ABSENT_SENSOR_C:
            v[f"temp.{m.group(1)}"] = (c, "C")
    for m in _RAIL.finditer(line):
        if take(m):
            v[f"power.{m.group(1)}"] = (float(m.group(2)), "mW")
            v[f"power_avg.{m.group(1)}"] = (float(m.group(3)), "mW")
    for m in _TOKEN.finditer(line):
        if not covered[m.start():m.end()].any():
            out.unknown.append(m.group(0))
    # a number too long for a float reads as infinity: not a measurement
    for k in [k for k, (x, _) in v.items() if math.isinf(x)]:
        del v[k]
        out.unknown.append(k)
    return out


def _ends_with_newline(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            f.seek(-1, 2)
            return f.read(1) in (b"\n", b"\r")
    except OSError:
        return True


def to_samples(rows: list[tuple[float, TegraLine]], clock: str, origin: str,
               what: str) -> Samples:
    """Series from parsed lines; ``rows`` holds (t, line) in order."""
    s = Samples(origin=origin)
    units: dict[str, str] = {}
    for _, ln in rows:
        for k, (_, u) in ln.values.items():
            units.setdefault(k, u)
    t = np.array([r[0] for r in rows], np.float64)
    for k in sorted(units):
        vals = np.array([r[1].values.get(k, (np.nan, ""))[0] for r in rows], np.float64)
        s.add(Series(k, units[k], SOURCE, DEVICE, t, vals, clock))
    engines = sorted({k.split(".")[0] for k in units if k.endswith((".load", ".freq"))
                      and not k.startswith("cpu")})
    clock_only = [e for e in engines if f"{e}.freq" in units and f"{e}.load" not in units]
    unknown = Counter(tok for _, ln in rows for tok in ln.unknown)
    s.meta[SOURCE] = {"lines": len(rows), "engines": engines, "clock_only_engines": clock_only}
    if clock_only:
        s.notes.append(f"{what}: {', '.join(clock_only)} printed as a clock only (MHz): "
                       "their load is not known")
    if unknown:
        names = sorted({re.sub(r"[\d.%@/\[\],]+.*$", "", k) or k for k in unknown})[:8]
        s.notes.append(f"{what}: {sum(unknown.values())} fields not read "
                       f"({', '.join(names)})")
    return s


def read_lines(lines: list[str], what: str, interval_s: float | None = None) -> Samples:
    """Lines of a tegrastats log. Time comes from the lines' stamps where every line has one,
    else from ``interval_s``, else t counts lines."""
    rows: list[tuple[datetime | None, TegraLine]] = []
    skipped = 0
    for raw in lines:
        if not raw.strip():
            continue
        ln = parse_line(raw)
        if ln is None:
            skipped += 1
            continue
        rows.append((ln.stamp, ln))
    if not rows:
        raise UserError(f"{what}: no tegrastats lines could be read")
    notes = [f"{what}: skipped {skipped} lines that are not tegrastats output"] if skipped else []
    stamped = all(st is not None for st, _ in rows)
    if stamped:
        first = rows[0][0]
        assert first is not None
        timed: list[tuple[float, TegraLine]] = []
        last = -1.0
        back = 0
        for st, ln in rows:
            assert st is not None
            t = (st - first).total_seconds()
            if t < last:  # a pasted or repeated block: keep the log's time running forward
                back += 1
                continue
            last = t
            timed.append((t, ln))
        if back:
            notes.append(f"{what}: skipped {back} lines whose time stamp goes back")
        s = to_samples(timed, SECONDS, f"{what}'s first line ({first.isoformat(sep=' ')})",
                       what)
        s.meta[SOURCE]["resolution_s"] = 1.0
    elif interval_s:
        s = to_samples([(i * interval_s, ln) for i, (_, ln) in enumerate(rows)], SECONDS,
                       f"{what}'s first line", what)
        notes.append(f"{what}: lines carry no time stamp; timed at the {interval_s:g} s interval")
    else:
        s = to_samples([(float(i), ln) for i, (_, ln) in enumerate(rows)], INDEX,
                       f"{what}'s first line", what)
        notes.append(f"{what}: lines carry no time stamp and the interval is unknown: "
                     "t counts lines (tegrastats prints every 1 s unless --interval was given)")
    s.notes = notes + s.notes
    return s


def cut_last_line(lines: list[str], ends_with_newline: bool) -> bool:
    """Whether the last line was cut short (the file ends mid-line and that line has fewer
    fields than the one before it): it is then left out and the input said to be truncated."""
    if ends_with_newline or len(lines) < 2:
        return False
    last, prev = parse_line(lines[-1]), parse_line(lines[-2])
    if last is None or prev is None:
        return last is None and prev is not None
    return set(last.values) < set(prev.values)


def load(path: Path) -> Trace:
    lines = read_text_lines(path)
    t = Trace()
    lines = [x for x in lines if x.strip()] if lines else lines
    if cut_last_line(lines, _ends_with_newline(path)):
        lines = lines[:-1]
        t.extras["truncated"] = f"{path.name} ends in the middle of a line"
    t.samples = read_lines(lines, path.name)
    t.inputs.append(f"tegrastats log {path}")
    t.notes.extend(t.samples.notes)
    return t
