"""The watched command's stdout and stderr, kept in files of bounded size: each is rotated to
NAME.1 at half of its cap, so the newest output is always there and at most the cap is kept."""

from __future__ import annotations

import os
import threading
from pathlib import Path


class RotatingLog:
    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.half = max(max_bytes // 2, 4096)
        self.f = open(path, "ab")  # noqa: SIM115 (held open while the command writes)
        self.size = self.f.tell()

    def write(self, data: bytes) -> None:
        self.f.write(data)
        self.f.flush()
        self.size += len(data)
        if self.size >= self.half:
            self.f.close()
            os.replace(self.path, self.path.with_name(self.path.name + ".1"))
            self.f = open(self.path, "ab")  # noqa: SIM115
            self.size = 0

    def close(self) -> None:
        self.f.close()


def pump(fd: int, log: RotatingLog) -> threading.Thread:
    """Copies what the command writes to ``fd`` into ``log`` until the command closes it."""

    def run() -> None:
        try:
            while True:
                b = os.read(fd, 65536)
                if not b:
                    break
                log.write(b)
        except OSError:
            pass
        finally:
            os.close(fd)

    t = threading.Thread(target=run, name="pipesight-log", daemon=True)
    t.start()
    return t
