"""The environment a watched pipeline runs in: pipesight's tracer in ring mode, writing into
the ring directory. The same variables are what `pipesight watch --print-env` prints for a
service that pipesight does not start."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from pipesight.capture.environment import merge_tracers

RING_MB = 64  # at 10,000 records a second (1,000 buffers/s over 5 pads), 100 s of trace
MSGS_KB = 4096  # bus messages, states, caps: two files of half this each


def ring_variables(ring_dir: Path, tracer_dir: Path, ring_mb: int = RING_MB,
                   msgs_kb: int = MSGS_KB, base: Mapping[str, str] | None = None
                   ) -> dict[str, str]:
    base = base or {}
    path = base.get("GST_PLUGIN_PATH")
    return {
        "GST_TRACERS": merge_tracers(base.get("GST_TRACERS"), ["pipesight"]),
        "GST_PLUGIN_PATH": str(tracer_dir) + (os.pathsep + path if path else ""),
        "PIPESIGHT_TRACE_DIR": str(ring_dir),
        "PIPESIGHT_RING_MB": str(ring_mb),
        "PIPESIGHT_MSGS_MAX_KB": str(msgs_kb),
    }


def watched_env(base: Mapping[str, str], ring_dir: Path, tracer_dir: Path,
                ring_mb: int = RING_MB) -> tuple[dict[str, str], dict[str, str]]:
    """(full environment, what pipesight added). No GST_DEBUG_FILE, graph dumps nor Python
    callback hooks: each would grow without bound; GStreamer's warnings go to the command's
    stderr, which watch keeps in rotated logs."""
    added = ring_variables(ring_dir, tracer_dir, ring_mb, base=base)
    added["PYTHONUNBUFFERED"] = base.get("PYTHONUNBUFFERED", "1")
    env = dict(base)
    env.update(added)
    return env, added


def print_env(ring_dir: Path, tracer_dir: Path, ring_mb: int) -> str:
    v = ring_variables(ring_dir, tracer_dir, ring_mb)
    lines = [
        "# pipesight watch: add to the service's environment (systemd Environment=, docker",
        "# -e, a shell's export), then `pipesight watch --attach " + str(ring_dir) + "`.",
        "# Append the service's own GST_PLUGIN_PATH and GST_TRACERS entries, if it has any.",
        *(f"{k}={val}" for k, val in v.items()),
    ]
    return "\n".join(lines) + "\n"
