"""Watches a running pipeline for a stall and records where every thread waits.

Progress is the size of pipesight's tracer records (RUN/trace/events-*.bin): a pipeline that
moves buffers writes records on every push. When no record was added for ``stall_s`` the
process is stalled: its native stacks (eu-stack) and thread names go to RUN/doctor/, and the
run is stopped. A process that ignores the interrupt at --duration gets the same record
before it is terminated.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np

from pipesight.capture.tree import ProcessTree
from pipesight.doctor import stacks as stackmod
from pipesight.tracer.layout import HEADER, HEADER_SIZE

EU_STACK_TIMEOUT_S = 30.0


def events_used(trace_dir: Path) -> int | None:
    """Bytes of records written so far by every traced process, None when there is no file."""
    total, seen = 0, False
    for ev in trace_dir.glob("events-*.bin"):
        try:
            with open(ev, "rb") as f:
                head = f.read(HEADER_SIZE)
        except OSError:
            continue
        if len(head) < HEADER.itemsize:
            continue
        seen = True
        total += int(np.frombuffer(head[: HEADER.itemsize], HEADER)[0]["used"])
    return total if seen else None


class HangWatch:
    def __init__(self, run_dir: Path, stall_s: float) -> None:
        self.run_dir = run_dir
        self.stall_s = stall_s
        self.start = time.monotonic()
        self.last_used: int | None = None
        self.last_change = self.start
        self.recorded = False
        self.reason: str | None = None

    def __call__(self, tree: ProcessTree) -> str | None:
        used = events_used(self.run_dir / "trace")
        now = time.monotonic()
        if used is None:
            return None  # no tracer: only the --duration end can tell
        if used != self.last_used:
            self.last_used, self.last_change = used, now
            return None
        idle = now - self.last_change
        if idle < self.stall_s:
            return None
        what = ("no buffer moved" if not used else "no buffer moved any more")
        reason = f"the pipeline stalled: {what} for {idle:.1f} s"
        self.record(tree, reason)
        return reason

    def on_hung(self, tree: ProcessTree) -> None:
        if not self.recorded:
            self.record(tree, "the command did not stop after the interrupt (no EOS)")

    def record(self, tree: ProcessTree, reason: str) -> None:
        out = self.run_dir / "doctor"
        out.mkdir(exist_ok=True)
        self.recorded = True
        self.reason = reason
        info: dict = {
            "reason": reason,
            "at_s": round(time.monotonic() - self.start, 3),
            "events_bytes": self.last_used,
            "processes": [],
            "eu_stack": shutil.which("eu-stack"),
        }
        for pid in tree.pids():  # every process of the command, orphans included
            names = stackmod.read_names(pid)
            entry: dict = {"pid": pid, "threads": {str(k): v for k, v in names.items()}}
            try:
                entry["comm"] = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                entry["comm"] = None
            if info["eu_stack"]:
                try:
                    r = subprocess.run([info["eu_stack"], "-m", "-p", str(pid)],
                                       capture_output=True, text=True,
                                       timeout=EU_STACK_TIMEOUT_S)
                    (out / f"stacks-{pid}.txt").write_text(r.stdout + r.stderr)
                    entry["stacks"] = f"stacks-{pid}.txt"
                except (OSError, subprocess.TimeoutExpired) as e:
                    entry["stacks_error"] = str(e)
            info["processes"].append(entry)
        (out / "hang.json").write_text(json.dumps(info, indent=2) + "\n")
