"""The thread that feeds a source from outside GStreamer: an application pushing into an
appsrc (or a library's worker feeding a source) does its work on a thread that makes no pad
pushes, so only the kernel's accounting of the process's threads shows it."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.metrics.cpu import ThreadCpu

FEEDER_BUSY = 0.85  # of a core: the feeding thread cannot go faster
WORKER_BUSY = 0.2  # of a core: a thread outside the streaming threads doing real work
WORKERS_BUSY = 0.5  # cores such threads use together before an element's waits are theirs


def wants(t: ThreadCpu) -> float:
    """Share of a core the thread wanted: running, or runnable and waiting for a core."""
    return t.cpu_fraction + (t.wait_fraction or 0.0)


def _known(ctx: Context) -> set[int]:
    """Streaming threads, and the worker threads charged to an element (metrics/workers)."""
    return {t.os_tid for t in ctx.trace.threads if t.os_tid is not None} | {
        w.os_tid for w in ctx.metrics.workers}


def feeder_thread(ctx: Context) -> ThreadCpu | None:
    """The busiest thread of the target that is no streaming thread, if it wanted at least
    FEEDER_BUSY of a core (running or waiting to run: on a busy machine it gets less)."""
    cpu = ctx.metrics.cpu
    if cpu is None:
        return None
    rest = [t for tid, t in cpu.threads.items() if tid not in _known(ctx)]
    best = max(rest, key=wants, default=None)
    return best if best is not None and wants(best) >= FEEDER_BUSY else None


def busy_outside(ctx: Context) -> list[ThreadCpu]:
    """Threads of the target that make no pad pushes and no element could be charged with
    (metrics/workers) yet use at least WORKER_BUSY of a core, when together they use
    WORKERS_BUSY cores: a library's thread pool, a plugin's GPU feeder, the application's."""
    cpu = ctx.metrics.cpu
    if cpu is None:
        return []
    rest = [t for tid, t in cpu.threads.items()
            if tid not in _known(ctx) and t.cpu_fraction >= WORKER_BUSY]
    return sorted(rest, key=lambda t: -t.cpu_fraction) \
        if sum(t.cpu_fraction for t in rest) >= WORKERS_BUSY else []
