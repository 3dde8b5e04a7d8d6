"""Did any process of the tree crash? pipesight sees the exit status of the command and of the
processes the keeper reaped (orphans), but not of a grandchild its own parent reaped. So two more
signals, from what the run already wrote:

- the tracer trims its events file to the records written when a process exits cleanly (at
  exit or when GStreamer is deinitialised); a file still at its mapped size means the process
  ended without that: a crash, or a kill. One pipesight did not signal crashed or was killed by
  someone else.
- gst-launch-1.0 without --no-fault catches SIGSEGV, prints "Caught SIGSEGV" and spins; a
  script that starts it never passes the option, so its stderr says it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipesight.capture.tree import Exit
from pipesight.tracer.layout import HEADER, HEADER_SIZE, RING_FLAG

# signals that mean the process crashed (pipesight never sends them)
CRASH_SIGNALS = {"SIGSEGV", "SIGABRT", "SIGBUS", "SIGFPE", "SIGILL", "SIGSYS", "SIGTRAP"}
_CAUGHT = re.compile(r"Caught (SIG[A-Z]+)")
_EVENTS = re.compile(r"events-(\d+)\.bin")
MAX_STDERR_SCAN = 64 << 20


@dataclass
class Crash:
    pid: int | None
    what: str  # one sentence


def clean_exits(trace_dir: Path) -> dict[int, bool | None]:
    """pid -> True if its events file was trimmed at a clean exit, False if not, None when it
    cannot tell (the file filled its whole mapping, or is unreadable). Before the runner trims."""
    out: dict[int, bool | None] = {}
    for pid, ev in _events_files(trace_dir):
        try:
            with open(ev, "rb") as f:
                head = f.read(HEADER.itemsize)
            size = ev.stat().st_size
        except OSError:
            out[pid] = None
            continue
        if len(head) < HEADER.itemsize:
            out[pid] = None
            continue
        h = np.frombuffer(head, HEADER)[0]
        used, cap = int(h["used"]), int(h["capacity"])
        if used >= cap or int(h["flags"]) & RING_FLAG:  # full, or a ring (never trimmed)
            out[pid] = None
        else:
            out[pid] = size <= HEADER_SIZE + used
    return out


def _events_files(trace_dir: Path) -> list[tuple[int, Path]]:
    out = []
    for ev in sorted(trace_dir.glob("events-*.bin")):
        m = _EVENTS.fullmatch(ev.name)
        if m and ev.is_file():
            out.append((int(m.group(1)), ev))
    return out


def stderr_caught(path: Path) -> list[tuple[int, str]]:
    """(line number, signal) of each "Caught SIGxxx" that GStreamer's tools print."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_STDERR_SCAN)
    except OSError:
        return []
    out = []
    for i, line in enumerate(data.decode("utf-8", "replace").splitlines(), start=1):
        m = _CAUGHT.search(line)
        if m and m.group(1) in CRASH_SIGNALS:
            out.append((i, m.group(1)))
    return out


def find(exits: list[Exit], clean: dict[int, bool | None], signalled: dict[int, list[str]],
         names: dict[int, str], stderr: Path) -> list[Crash]:
    """Every crash the run shows, the command's own exit status aside."""
    crashes: list[Crash] = []
    for e in exits:
        if e.signal in CRASH_SIGNALS and not e.main:
            crashes.append(Crash(e.pid, f"process {e.pid} ({e.comm or '?'}) crashed "
                                        f"({e.signal})"))
    reported = {c.pid for c in crashes} | {e.pid for e in exits if e.main}
    for pid, ok in sorted(clean.items()):
        if ok is False and pid not in signalled and pid not in reported:
            crashes.append(Crash(pid, f"process {pid} ({names.get(pid, '?')}) ended without "
                                      "a clean exit (its trace records end without the "
                                      "tracer's end of process): it crashed or was killed"))
    for line, sig in stderr_caught(stderr):
        crashes.append(Crash(None, f"a GStreamer process caught {sig} (stderr.log line "
                                   f"{line}: gst-launch-1.0's fault handler)"))
    return crashes
