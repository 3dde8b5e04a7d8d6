"""Follows the tracer's JSON-lines files while they are written: defs-PID.jsonl (appended to)
and msgs-PID.jsonl (rotated to msgs-PID.1.jsonl at a size). A line is taken only once its
newline is written; a file rotated away is read to its end through the descriptor still open
on it, and the numbers the tracer puts on msgs lines ("n") count what rotated away unread."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

CHUNK = 1 << 20


class LineTail:
    def __init__(self, path: Path, rotated: Path | None = None) -> None:
        self.path = path
        self.rotated = rotated
        self.fd = -1
        self.ino = -1
        self.rest = b""
        self.bad = 0  # lines that were not JSON objects

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def _open(self, path: Path) -> bool:
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return False
        self.close()
        self.fd, self.ino, self.rest = fd, os.fstat(fd).st_ino, b""
        return True

    def _drain(self) -> bytes:
        out = []
        while True:
            b = os.read(self.fd, CHUNK)
            if not b:
                break
            out.append(b)
        return b"".join(out)

    def poll(self) -> list[dict[str, Any]]:
        if self.fd < 0 and not self._open(self.path):
            return []
        data = self.rest + self._drain()
        self.rest = b""
        if self.rotated is not None:
            try:
                now_ino = os.stat(self.path).st_ino
            except OSError:
                now_ino = self.ino
            if now_ino != self.ino:
                # rotated: what we had is read to its end; a whole file rotated in between
                # (two rotations since the last poll) is read too, then the new one
                old_ino = self.ino
                cut = data.rfind(b"\n") + 1
                lines = self._parse(data[:cut])
                try:
                    if os.stat(self.rotated).st_ino not in (old_ino, now_ino) and \
                            self._open(self.rotated):
                        lines += self._parse(self._drain())
                except OSError:
                    pass
                if self._open(self.path):
                    more = self._drain()
                    cut2 = more.rfind(b"\n") + 1
                    lines += self._parse(more[:cut2])
                    self.rest = more[cut2:]
                return lines
        cut = data.rfind(b"\n") + 1
        self.rest = data[cut:]
        return self._parse(data[:cut])

    def _parse(self, data: bytes) -> list[dict[str, Any]]:
        out = []
        for line in data.split(b"\n"):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError:
                self.bad += 1
                continue
            if isinstance(d, dict) and "t" in d:
                out.append(d)
            else:
                self.bad += 1
        return out
