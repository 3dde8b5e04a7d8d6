"""Parse what gst-stats-1.0 (GStreamer 1.22) prints, to compare pipesight against it."""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

_PAD = re.compile(
    r"^\s+([<>]) (.{30}): buffers\s+(\d+) \(live\s+(\d+),dec\s+(\d+),dis\s+(\d+),res\s+(\d+),"
    r"cor\s+(\d+),mar\s+(\d+),hdr\s+(\d+),gap\s+(\d+),drop\s+(\d+),dlt\s+(\d+)\), "
    r"size \(min/avg/max\) ([ .\d]+)/([ .\d]+)/([ .\d]+),"
)
_ELEMENT = re.compile(
    r"^\s+(.{45}): buffers in/out\s+(\S+)/\s*(\S+) bytes in/out\s+(\S+)/\s*(\S+) first activity"
)
_LAT = re.compile(r"^\t(.+): mean=(\d+):(\d+):(\d+)\.(\d+) min=(\d+):(\d+):(\d+)\.(\d+) "
                  r"max=(\d+):(\d+):(\d+)\.(\d+)")
_TOTAL = re.compile(r"^Number of Buffers passed: (\d+)")


def _ns(h: str, m: str, s: str, frac: str) -> int:
    return ((int(h) * 60 + int(m)) * 60 + int(s)) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])


def _num(s: str) -> int | None:
    s = s.strip()
    return None if s in ("-", "") or set(s) == {"."} else int(s)


@dataclass
class GstStats:
    buffers_total: int = 0
    pads: dict[str, dict] = field(default_factory=dict)  # "elem.pad" (30 chars) -> stats
    elements: dict[str, dict] = field(default_factory=dict)  # element name -> counts
    latency: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # key -> mean,min,max
    element_latency: dict[str, tuple[int, int, int]] = field(default_factory=dict)


def run(log: Path) -> GstStats:
    out = subprocess.run(["gst-stats-1.0", str(log)], capture_output=True, text=True,
                         check=True, timeout=600).stdout
    st = GstStats()
    section = ""
    for line in out.splitlines():
        if line.startswith("Element Latency Statistics"):
            section = "elat"
        elif line.startswith("Latency Statistics"):
            section = "lat"
        elif line.startswith("Element Statistics"):
            section = "el"
        elif line.startswith("Bin Statistics"):
            section = "bin"
        if m := _TOTAL.match(line):
            st.buffers_total = int(m.group(1))
        elif m := _PAD.match(line):
            st.pads[m.group(2).rstrip()] = {
                "dir": m.group(1), "buffers": int(m.group(3)),
                "flags": [int(x) for x in m.groups()[3:13]],
                "min": _num(m.group(14)), "avg": _num(m.group(15)), "max": _num(m.group(16)),
            }
        elif section == "el" and (m := _ELEMENT.match(line)):
            name = m.group(1).rstrip().split(":", 1)[1]
            st.elements[name] = {"in": _num(m.group(2)) or 0, "out": _num(m.group(3)) or 0,
                                 "bytes_in": _num(m.group(4)) or 0,
                                 "bytes_out": _num(m.group(5)) or 0}
        elif section in ("lat", "elat") and (m := _LAT.match(line)):
            g = m.groups()
            vals = (_ns(*g[1:5]), _ns(*g[5:9]), _ns(*g[9:13]))
            (st.latency if section == "lat" else st.element_latency)[g[0]] = vals
    return st
