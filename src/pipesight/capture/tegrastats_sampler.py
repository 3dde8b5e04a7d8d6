"""Runs Jetson's ``tegrastats --interval MS`` for the length of a run and keeps each line it
prints, stamped with the monotonic clock when it arrived, in RUN/samples/tegrastats.jsonl:

  {"t": "header", ...}  {"t": "line", "ts": ns, "line": "RAM ... VDD_IN ..."}  {"t": "end", ...}

The lines are kept as printed (the reader parses them), so a JetPack release that changes the
format loses nothing. tegrastats writes through C stdio: on a pipe it would hold its output
back in 4 KiB blocks and every line would arrive late, so it writes to a pseudo-terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import pty
import select
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import IO, Any

from pipesight.capture.samplers import Sampler

EXE = "tegrastats"


class TegrastatsSampler(Sampler):
    name = "tegrastats"

    def __init__(self, out: Path, interval_s: float = 0.1) -> None:
        super().__init__(out, interval_s)
        self.exe: str | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self._fd: int | None = None
        self._buf = b""
        self.lines = 0
        self._ending = False  # we stopped the child: its exit is no news

    def open(self) -> bool:
        self.exe = shutil.which(EXE)
        if self.exe is None:
            self.note = "tegrastats not found (not a Jetson)"
            return False
        return True

    def header(self) -> dict[str, Any]:
        return {"command": self._argv()}

    def _argv(self) -> list[str]:
        assert self.exe is not None
        return [self.exe, "--interval", str(max(1, round(self.interval * 1000)))]

    def _start_child(self) -> None:
        master, slave = pty.openpty()
        try:
            self.proc = subprocess.Popen(self._argv(), stdin=subprocess.DEVNULL, stdout=slave,
                                         stderr=slave, start_new_session=True)
        finally:
            os.close(slave)
        self._fd = master

    def _drain(self, f: IO[str], wait_s: float) -> None:
        assert self._fd is not None
        deadline = time.monotonic() + wait_s
        while True:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self._fd], [], [], max(0.0, left))
            if not ready:
                return
            try:
                chunk = os.read(self._fd, 65536)
            except OSError:  # the child closed its end (exited)
                chunk = b""
            if not chunk:
                if (self.proc is not None and self.proc.poll() is not None and self.note is None
                        and not self._ending):
                    self.note = (f"tegrastats exited with status {self.proc.returncode} "
                                 f"after {self.lines} lines")
                time.sleep(max(0.0, deadline - time.monotonic()))
                return
            now = time.monotonic_ns()
            self._buf += chunk
            *done, self._buf = self._buf.split(b"\n")
            out = []
            for raw in done:
                line = raw.decode("utf-8", "replace").strip("\r\n")
                if line.strip():
                    out.append(json.dumps({"t": "line", "ts": now, "line": line}))
                    self.lines += 1
            if out:
                f.write("\n".join(out) + "\n")
                f.flush()

    # the base loop sleeps between samples; here the read itself waits, so do not sleep twice
    def _run(self) -> None:
        t0 = time.thread_time_ns()
        with self._open() as f:
            f.write(json.dumps({"t": "header", "sampler": self.name, "interval_s": self.interval,
                                "clock": "monotonic", **self.header()}) + "\n")
            try:
                self._start_child()
                while not self._stop.is_set():
                    self._drain(f, wait_s=min(self.interval, 0.5))
                    self.samples = self.lines
            except OSError as e:
                self.note = f"tegrastats could not run: {e.strerror or e}"
            finally:
                self._end_child(f)
                self.samples = self.lines
                self.cpu_ns = time.thread_time_ns() - t0
                f.write(json.dumps({"t": "end", "samples": self.lines, "cpu_ns": self.cpu_ns,
                                    "note": self.note}) + "\n")

    def _end_child(self, f: IO[str]) -> None:
        p = self.proc
        if p is None:
            return
        if p.poll() is None:
            self._ending = True
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self._drain(f, wait_s=0.0)
            os.close(self._fd)
            self._fd = None
