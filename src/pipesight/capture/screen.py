"""pipesight's terminal while a command runs: one progress line kept at the bottom, the command's
own output passed through above it. Only on a terminal: elsewhere (a pipe, a CI log) nothing is
drawn and the output passes through untouched."""

from __future__ import annotations

import contextlib
import os
import shutil
import sys
import threading
from typing import BinaryIO, TextIO

from pipesight.terminal_text import one_line

CLEAR = "\r\x1b[K"


def wants_progress(stream: TextIO, as_json: bool) -> bool:
    """A progress line on ``stream``: only a terminal that understands it, never with --json."""
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    return tty and not as_json and os.environ.get("TERM", "") != "dumb"


class Screen:
    def __init__(self, out: TextIO | None) -> None:
        self.out = out  # where the progress line goes; None: no progress line
        self._lock = threading.Lock()
        self._line = ""
        self._shown = False
        self._at_line_start = True

    def show(self, text: str) -> None:
        if self.out is None:
            return
        width = max(20, shutil.get_terminal_size((80, 24)).columns - 1)
        line = one_line(text)[:width]
        with self._lock:
            self._line = line
            if not self._at_line_start:
                return  # the command is mid-line: draw when its line ends
            self.out.write(CLEAR + line)
            self.out.flush()
            self._shown = True

    def clear(self) -> None:
        if self.out is None:
            return
        with self._lock:
            self._line = ""
            if self._shown:
                self.out.write(CLEAR)
                self.out.flush()
                self._shown = False

    def write_through(self, stream: BinaryIO, data: bytes) -> None:
        """The command's output, as it is, above the progress line."""
        with self._lock:
            if self._shown and self.out is not None:
                self.out.write(CLEAR)
                self.out.flush()
                self._shown = False
            stream.write(data)
            stream.flush()
            self._at_line_start = data.endswith(b"\n")
            if self._line and self._at_line_start and self.out is not None:
                self.out.write(CLEAR + self._line)
                self.out.flush()
                self._shown = True


def flush_std() -> None:
    """Whatever pipesight printed so far goes out before the command's raw output."""
    for s in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            s.flush()
