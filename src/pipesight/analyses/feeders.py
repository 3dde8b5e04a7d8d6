"""The thread that feeds a source from outside GStreamer: an application pushing into an
appsrc (or a library's worker feeding a source) does its work on a thread that makes no pad
pushes, so only the kernel's accounting of the process's threads shows it."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.metrics.cpu import ThreadCpu

FEEDER_BUSY = 0.85  # of a core: the feeding thread cannot go faster


def feeder_thread(ctx: Context) -> ThreadCpu | None:
    """The busiest thread of the target that is no streaming thread, if it uses at least
    FEEDER_BUSY of a core."""
    cpu = ctx.metrics.cpu
    if cpu is None:
        return None
    streaming = {t.os_tid for t in ctx.trace.threads if t.os_tid is not None}
    rest = [t for tid, t in cpu.threads.items() if tid not in streaming]
    best = max(rest, key=lambda t: t.cpu_fraction, default=None)
    return best if best is not None and best.cpu_fraction >= FEEDER_BUSY else None
