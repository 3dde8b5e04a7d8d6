"""`pipesight doctor -- COMMAND`: run the command with the debug categories and graph dumps
that carry the evidence, watch it for a stall, then diagnose the run directory."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

from pipesight.capture.runner import CaptureOptions, CaptureResult, capture
from pipesight.doctor import output_files
from pipesight.doctor.watch import HangWatch
from pipesight.errors import UserError
from pipesight.readers import dot
from pipesight.readers.dot import DotGraph

# GST_DEBUG=3 holds errors and warnings but neither side's caps nor who holds the preroll:
# these categories add link attempts, pad activity, state changes and plugin loading, all
# rare records (a few hundred lines for a whole run; no per-buffer records)
DEBUG_CATEGORIES = ["GST_STATES:4", "GST_ELEMENT_PADS:4", "GST_PADS:4", "GST_CAPS:4",
                    "GST_PLUGIN_LOADING:4"]
DEFAULT_STALL_S = 5.0


class _Watch(HangWatch):
    """A stall, or a run still going at --timeout, is a hang."""

    def __init__(self, run_dir: Path, stall_s: float, timeout_s: float | None) -> None:
        super().__init__(run_dir, stall_s)
        self.timeout_s = timeout_s

    def __call__(self, tree):  # type: ignore[override]
        reason = super().__call__(tree)
        if reason:
            return reason
        if self.timeout_s is not None and time.monotonic() - self.start >= self.timeout_s:
            reason = f"still running after --timeout {self.timeout_s:g}s"
            self.record(tree, reason)
            return reason
        return None


def run_command(cmd: list[str], run_dir: Path, stall_s: float, timeout_s: float | None,
                duration_s: float | None, grace_s: float) -> CaptureResult:
    watch = _Watch(run_dir, stall_s, timeout_s)
    opts = CaptureOptions(duration_s=duration_s, grace_s=grace_s, tracers=["pipesight"],
                          extra_debug=list(DEBUG_CATEGORIES), default_debug="3", watch=watch,
                          on_hung=watch.on_hung)
    res = capture(cmd, run_dir, opts)
    # the output files as the run left them, before anything else can touch them
    output_files.record(run_dir, _graphs(run_dir), list(res.manifest.get("command") or cmd))
    return res


def _graphs(run_dir: Path) -> list[DotGraph]:
    out = []
    for f in sorted((run_dir / "dot").glob("*.dot")):
        with contextlib.suppress(UserError, OSError):
            out.append(dot.read(f))
    return out
