"""Helpers for the hardening tests: pipesight as a user runs it (a subprocess, or on a
pseudo-terminal), and what its output must look like."""

from __future__ import annotations

import fcntl
import json
import os
import select
import shutil
import subprocess
import sys
import termios
import time
from dataclasses import dataclass
from pathlib import Path

PIPESIGHT = [sys.executable, "-m", "pipesight"]
REPO = Path(__file__).resolve().parent.parent


def run(*args: str, timeout: float = 120, env: dict[str, str] | None = None,
        stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPESIGHT, *args], capture_output=True, text=True, timeout=timeout,
                          env=None if env is None else {**os.environ, **env}, stdin=stdin)


def one_line_error(r: subprocess.CompletedProcess) -> str:
    """The one line pipesight says on stderr; nothing else there."""
    assert "Traceback" not in r.stderr
    assert "internal error" not in r.stderr, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("pipesight: "), r.stderr
    return lines[0]


def verdict_or_one_line(r: subprocess.CompletedProcess) -> dict | None:
    """`--json` output: a verdict on stdout (exit 0 or 4), or one line on stderr (exit 2)."""
    assert r.returncode != 70 and "internal error" not in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    if r.returncode == 2:
        one_line_error(r)
        assert not r.stdout.strip()
        return None
    assert r.returncode in (0, 4), (r.returncode, r.stderr)
    assert all(ln.startswith("pipesight: ") for ln in r.stderr.splitlines() if ln.strip())
    return json.loads(r.stdout)


def copy_run(seed: Path, dest: Path) -> Path:
    """A run directory to damage: the seed's captured files, without its analysis."""
    shutil.copytree(seed, dest)
    for name in ("verdict.json", "report.html", "trace.json", "doctor.json"):
        (dest / name).unlink(missing_ok=True)
    return dest


@dataclass
class PtyRun:
    returncode: int
    output: str


def on_terminal(args: list[str], interrupt_after_s: float | list[float] | None = None,
                until: str | None = None, timeout: float = 120) -> PtyRun:
    """pipesight on a pseudo-terminal that is its controlling terminal, as in a shell: Ctrl-C
    typed there (the terminal's interrupt character) is sent by the kernel to its foreground
    process group. Typed ``interrupt_after_s`` (one time or several) after ``until`` appeared
    in the output (or after the start)."""
    times = ([] if interrupt_after_s is None else [interrupt_after_s]
             if isinstance(interrupt_after_s, int | float) else sorted(interrupt_after_s))
    master, slave = os.openpty()
    attrs = termios.tcgetattr(slave)
    attrs[3] |= termios.ISIG  # the line discipline turns ^C into SIGINT
    termios.tcsetattr(slave, termios.TCSANOW, attrs)

    def controlling_terminal() -> None:
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    p = subprocess.Popen([*PIPESIGHT, *args], stdin=slave, stdout=slave, stderr=slave,
                         start_new_session=True, preexec_fn=controlling_terminal,
                         env={**os.environ, "TERM": "xterm", "COLUMNS": "160"})
    os.close(slave)
    out = b""
    t0 = time.monotonic()
    armed_at = None if until else t0
    deadline = t0 + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # the other side closed: pipesight has ended
                break
            if not data:
                break
            out += data
        if armed_at is None and until and until.encode() in out:
            armed_at = time.monotonic()
        if times and armed_at is not None and time.monotonic() - armed_at >= times[0]:
            os.write(master, b"\x03")
            times.pop(0)
        if p.poll() is not None and not ready:
            break
    else:
        p.kill()
    rc = p.wait(timeout=30)
    os.close(master)
    return PtyRun(rc, out.decode("utf-8", "replace"))
