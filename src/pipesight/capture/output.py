"""The command's own output: every byte kept in RUN/stdout.log and RUN/stderr.log, and passed on
as it is to pipesight's own stdout and stderr, so a user sees what the program said (gst-launch's
"no element" message) as they would without pipesight.

The program is never slowed by who reads pipesight's output: the log is written at once, and
what is passed on goes through a bounded queue to a writer thread; when the reader of
pipesight's output falls that far behind, the excess is not shown (and counted) but stays in
the log.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
from pathlib import Path
from typing import BinaryIO

from pipesight.capture.screen import Screen

CHUNK = 1 << 16
QUEUE_CHUNKS = 256  # 16 MiB not yet shown at most


class Pump:
    """Copies one stream of the command (a pipe's read end) to its log and, when ``echo`` is
    given, on to ``echo``."""

    def __init__(self, fd: int, log: Path, echo: BinaryIO | None, screen: Screen) -> None:
        self.fd = fd
        self.log = log
        self.echo = echo
        self.screen = screen
        self.bytes = 0
        self.not_shown = 0
        self._q: queue.Queue[bytes | None] = queue.Queue(QUEUE_CHUNKS)
        self._reader = threading.Thread(target=self._read, name=f"pipesight-{log.stem}",
                                        daemon=True)
        self._writer = threading.Thread(target=self._write, name=f"pipesight-{log.stem}-echo",
                                        daemon=True)

    def start(self) -> None:
        self._reader.start()
        if self.echo is not None:
            self._writer.start()

    def _read(self) -> None:
        with open(self.log, "wb", buffering=0) as out:
            while True:
                try:
                    data = os.read(self.fd, CHUNK)
                except OSError:
                    break
                if not data:
                    break
                out.write(data)
                self.bytes += len(data)
                if self.echo is None:
                    continue
                try:
                    self._q.put_nowait(data)
                except queue.Full:
                    self.not_shown += len(data)
        with contextlib.suppress(OSError):
            os.close(self.fd)
        if self.echo is not None:
            self._q.put(None)

    def _write(self) -> None:
        assert self.echo is not None
        broken = False
        while True:
            data = self._q.get()
            if data is None:
                return
            if broken:
                continue
            try:
                self.screen.write_through(self.echo, data)
            except (OSError, ValueError):
                broken = True  # nobody reads pipesight's output any more: the log still has it

    def join(self, timeout: float) -> bool:
        """Wait until the stream ended (every process holding it has closed it) and was shown."""
        self._reader.join(timeout)
        if self.echo is not None:
            self._writer.join(timeout)
        return not self._reader.is_alive()
