"""Stopping a command started directly with subprocess (no keeper): SIGINT, SIGTERM, SIGKILL to
its process group. `pipesight watch` starts its command this way; `profile` and `doctor` run
theirs under the keeper instead (capture/tree.py, capture/stop.py), which also reaches the
processes that leave the group."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Callable

KILL_AFTER_S = 3.0


def die_with_parent() -> None:
    """In the child: if pipesight is killed outright, its command goes too (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def stop_group(proc: subprocess.Popen, grace_s: float, why: str,
               on_hung: Callable[[subprocess.Popen], None] | None = None) -> str:
    """SIGINT (EOS for gst-launch-1.0 -e, a clean quit for most apps), then SIGTERM, then
    SIGKILL, to the whole process group."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        return why
    try:
        proc.wait(timeout=grace_s)
        return why
    except subprocess.TimeoutExpired:
        pass
    if on_hung is not None:
        on_hung(proc)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=KILL_AFTER_S)
        return "terminated after hanging"
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return "killed after hanging"
