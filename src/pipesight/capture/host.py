"""What the run's machine is: CPU, memory, GStreamer and GPU, for manifest.json."""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from typing import Any


def _first(cmd: list[str]) -> str | None:
    if shutil.which(cmd[0]) is None:
        return None
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.stdout.strip() if r.returncode == 0 else None


def describe() -> dict[str, Any]:
    cpu_model = None
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu_model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_kb = None
    try:
        with open("/proc/meminfo") as f:
            mem_kb = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        pass
    gst = _first(["pkg-config", "--modversion", "gstreamer-1.0"])
    if gst is None:
        v = _first(["gst-launch-1.0", "--version"])
        gst = v.splitlines()[1].split()[-1] if v and len(v.splitlines()) > 1 else None
    gpus = _first(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"])
    return {
        "hostname": platform.node(),
        "os": platform.platform(),
        "cpu": cpu_model,
        "cpus": os.cpu_count(),
        "cpus_allowed": len(os.sched_getaffinity(0)),
        "memory_gb": None if mem_kb is None else round(mem_kb / 1024 / 1024, 1),
        "gstreamer": gst,
        "gpus": gpus.splitlines() if gpus else [],
        "python": platform.python_version(),
    }
