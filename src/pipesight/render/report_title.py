"""What a report is called: which run (its directory's or input file's name, else the
program) and what limits it at what rate ("run1: jpegenc0 limits it at 390.4 fps
(confirmed)"), so that a browser tab, a bookmark or a file list tells reports apart; a
top-level bin's name (pipeline0), which every gst-launch-1.0 pipeline has, does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def title(vd: dict[str, Any], run: dict[str, Any], name: str | None) -> str:
    what = name or _program(run) or "pipesight report"
    return f"{what}: {verdict_words(vd)}"


def verdict_words(vd: dict[str, Any]) -> str:
    b = vd.get("bottleneck") or {}
    kind, element = b.get("kind") or "unknown", b.get("element")
    fps = vd.get("throughput_fps")
    unit = vd.get("throughput_unit") or "frames"
    per_s = "fps" if unit == "frames" else f"{unit}/s"
    at = f" at {fps:.1f} {per_s}" if isinstance(fps, int | float) else ""
    if kind == "failed":
        return "the command failed"
    if kind == "unknown" or not (element or kind):
        return f"no bottleneck named{at}"
    who = element or {"cpu": "the CPUs", "gpu": "the GPU", "source": "the source",
                      "live-source": "the live source", "sink-sync": "the sink's clock"}.get(
        kind, kind)
    return f"{who} limits it{at} ({b.get('confidence') or 'suspected'})"


def _program(run: dict[str, Any]) -> str | None:
    cmd = run.get("command")
    if isinstance(cmd, list) and cmd and isinstance(cmd[0], str):
        return Path(cmd[0]).name
    return None
