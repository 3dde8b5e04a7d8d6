"""Helpers for doctor's tests: run `pipesight doctor` as a user would, and write pipeline
graphs in the DOT layout GStreamer's gst_debug_bin_to_dot_file uses."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def doctor(*args: str, timeout: float = 60, env: dict | None = None
           ) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", "doctor", *args],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=str(REPO))


def doctor_json(*args: str, timeout: float = 60, env: dict | None = None) -> dict:
    r = doctor("--json", *args, timeout=timeout, env=env)
    assert r.stdout.strip(), f"no JSON on stdout (rc={r.returncode}): {r.stderr}"
    return json.loads(r.stdout)


def codes(v: dict) -> list[str]:
    return [f["code"] for f in v["findings"]]


def finding(v: dict, code: str) -> dict:
    for f in v["findings"]:
        if f["code"] == code:
            return f
    raise AssertionError(f"no {code} finding in {codes(v)}")


@dataclass
class El:
    name: str
    type: str
    props: dict[str, str] = field(default_factory=dict)
    sinks: list[str] = field(default_factory=lambda: ["sink"])
    srcs: list[str] = field(default_factory=lambda: ["src"])
    state: str = "[>]"


def dot_text(elements: list[El], links: list[tuple[str, str, str, str, str]],
             state: str = "[>]") -> str:
    """links: (element, src pad, element, sink pad, caps or '')."""
    ids = {e.name: f"0x{1000 + i:x}" for i, e in enumerate(elements)}
    node = {}
    out = ["digraph pipeline {", "  rankdir=LR;",
           f'  label="<GstPipeline>\\npipeline0\\n{state}";']
    for e in elements:
        cid = f"cluster_{e.name}_{ids[e.name]}"
        label = "\\n".join([e.type, e.name, e.state] + [f"{k}={v}" for k, v in e.props.items()])
        label = label.replace('"', '\\"')  # as GStreamer escapes quotes in labels
        out += [f"  subgraph {cid} {{", f'    label="{label}";']
        for direction, pads, colour in (("sink", e.sinks, "#aaaaff"), ("src", e.srcs, "#ffaaaa")):
            if not pads:
                continue
            out += [f"    subgraph {cid}_{direction} {{", '      label="";', '      style="invis";']
            for j, p in enumerate(pads):
                n = f"{e.name}_{ids[e.name]}_{p}_0x{ids[e.name][2:]}{direction[0]}{j}"
                node[(e.name, p)] = n
                out.append(f'      {n} [color=black, fillcolor="{colour}", label="{p}\\n[>][bfb]",'
                           ' height="0.2", style="filled,solid"];')
            out.append("    }")
        out.append("  }")
    for a, ap, b, bp, caps in links:
        lbl = caps.replace(", ", "\\l") + "\\l" if caps else "ANY"
        out.append(f'  {node[(a, ap)]} -> {node[(b, bp)]} [label="{lbl}"]')
    out.append("}")
    return "\n".join(out) + "\n"
