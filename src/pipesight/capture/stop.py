"""How a run ends: the command stopped cleanly (SIGINT, which is EOS for gst-launch-1.0 -e and a
clean quit for most apps), else terminated, else killed; then whatever it left running (a
background job, nohup, setsid) stopped the same way, and what could not be stopped said."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pipesight.capture.interrupts import Interrupts
from pipesight.capture.tree import ProcessTree, comm, state

KILL_AFTER_S = 3.0
LEFTOVER_GRACE_S = 3.0  # processes the command left behind are not the measured pipeline
STEP_S = 0.05


@dataclass
class Leftovers:
    """Processes still running when the command ended, and those that outlived every signal."""

    stopped: list[dict[str, Any]] = field(default_factory=list)
    survivors: list[dict[str, Any]] = field(default_factory=list)


def _wait_main(tree: ProcessTree, timeout: float, intr: Interrupts | None, seen: int) -> bool:
    """Wait for the command to exit; give up early when a new interrupt arrives."""
    deadline = time.monotonic() + timeout
    while True:
        if tree.wait_main(min(STEP_S, max(0.0, deadline - time.monotonic()))):
            return True
        if intr is not None and intr.count > seen:
            return False
        if time.monotonic() >= deadline:
            return False


def stop_command(tree: ProcessTree, grace_s: float, why: str,
                 on_hung: Callable[[ProcessTree], None] | None = None,
                 intr: Interrupts | None = None) -> str:
    """Interrupt, then terminate, then kill the tree until the command has exited. A further
    Ctrl-C during the grace period skips to terminating."""
    seen = intr.count if intr is not None else 0
    tree.interrupt()
    if _wait_main(tree, grace_s, intr, seen):
        return why
    hurried = intr is not None and intr.count > seen
    if on_hung is not None and not hurried:
        on_hung(tree)
    tree.send(signal.SIGTERM)
    if tree.wait_main(KILL_AFTER_S):
        return "stopped at once at a second interrupt" if hurried else "terminated after hanging"
    tree.send(signal.SIGKILL)
    tree.wait_main(KILL_AFTER_S)
    return "killed at a second interrupt" if hurried else "killed after hanging"


def stop_rest(tree: ProcessTree, grace_s: float) -> Leftovers:
    """After the command ended: stop every process it left running, and report each."""
    out = Leftovers()
    left = tree.pids()
    if left:
        names = {p: comm(p) for p in left}
        fresh = [p for p in left if "SIGINT" not in tree.signalled.sent.get(p, [])]
        tree.send(signal.SIGINT, fresh)
        if not tree.wait_empty(min(grace_s, LEFTOVER_GRACE_S)):
            tree.send(signal.SIGTERM)
            if not tree.wait_empty(KILL_AFTER_S):
                tree.send(signal.SIGKILL)
                tree.wait_empty(KILL_AFTER_S)
        exits = {e.pid: e for e in tree.exits}
        for p in left:
            e = exits.get(p)
            out.stopped.append({
                "pid": p, "comm": names[p], "signals": tree.signalled.sent.get(p, []),
                "ended": e.describe() if e is not None else None})
    else:
        tree.wait_empty(KILL_AFTER_S)
    for p in tree.pids():
        out.survivors.append({"pid": p, "comm": comm(p), "state": state(p),
                              "signals": tree.signalled.sent.get(p, [])})
    return out
