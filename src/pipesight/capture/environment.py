"""The environment a traced command runs in: the user's GST_DEBUG and GST_TRACERS are kept
and pipesight's additions merged in."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

DEFAULT_TRACERS = ("pipesight",)
PYHOOKS = Path(__file__).resolve().parent / "pyhooks"
# GStreamer's latency tracer costs ~16 us per pad push (bench/instrumentation_cost.py): opt-in
LATENCY_TRACER = "latency(flags=pipeline+element)"


def merge_tracers(user: str | None, ours: list[str]) -> str:
    """GST_TRACERS is a ';'-separated list; keep the user's entries (with their parameters)
    and add ours that are not already named."""
    items = [t.strip() for t in (user or "").split(";") if t.strip()]
    names = {t.split("(", 1)[0] for t in items}
    for t in ours:
        if t.split("(", 1)[0] not in names:
            items.append(t)
    return ";".join(items)


def merge_debug(user: str | None, ours: list[str], default: str = "2") -> str:
    """GST_DEBUG is ','-separated; later entries win. The user's threshold stays first; ours
    only raise categories pipesight needs (the tracer records, warnings)."""
    items = [t.strip() for t in (user or "").split(",") if t.strip()]
    if not items:
        items = [default]  # errors and warnings, e.g. "A lot of buffers are being dropped"
    names = {t.split(":", 1)[0] for t in items if ":" in t}
    for t in ours:
        if t.split(":", 1)[0] not in names:
            items.append(t)
    return ",".join(items)


def traced_env(
    base: Mapping[str, str],
    run_dir: Path,
    tracer_dir: Path | None,
    tracers: list[str],
    extra_debug: list[str] | None = None,
    default_debug: str = "2",
) -> tuple[dict[str, str], dict[str, str]]:
    """(full environment, the variables pipesight set or changed)."""
    env = dict(base)
    added: dict[str, str] = {}
    want = [t for t in tracers if t != "pipesight" or tracer_dir is not None]
    added["GST_TRACERS"] = merge_tracers(base.get("GST_TRACERS"), want)
    # GStreamer's own tracers (ours or the user's) log through the GST_TRACER category
    stock = [t for t in added["GST_TRACERS"].split(";") if t.split("(", 1)[0] != "pipesight"]
    debug_extra = ["GST_TRACER:7"] if stock else []
    debug_extra += list(extra_debug or [])
    added["GST_DEBUG"] = merge_debug(base.get("GST_DEBUG"), debug_extra, default_debug)
    added["GST_DEBUG_FILE"] = str(run_dir / "gst.log")
    added["GST_DEBUG_NO_COLOR"] = "1"
    added["GST_DEBUG_DUMP_DOT_DIR"] = str(run_dir / "dot")
    if tracer_dir is not None:
        path = base.get("GST_PLUGIN_PATH")
        added["GST_PLUGIN_PATH"] = str(tracer_dir) + (os.pathsep + path if path else "")
        added["PIPESIGHT_TRACE_DIR"] = str(run_dir / "trace")
    added["PYTHONUNBUFFERED"] = base.get("PYTHONUNBUFFERED", "1")
    if tracer_dir is not None:
        # Python applications: their PyGObject probe and signal callbacks are timed too
        # (capture/pyhooks/sitecustomize.py, which loads the user's own sitecustomize after it)
        path = base.get("PYTHONPATH")
        added["PYTHONPATH"] = str(PYHOOKS) + (os.pathsep + path if path else "")
    env.update(added)
    return env, added
