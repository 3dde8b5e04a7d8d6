"""Where `pipesight watch` keeps the samplers' output: in memory, for the recent past only.

The samplers (capture/proc_sampler.py, capture/samplers.py) write JSON lines to a file object;
under watch that object is a ``TimedLines``, which stamps each write on arrival (one write is
one sample) and keeps the last ``keep_s`` seconds, plus the header and, per thread, its name
line, which a window's samples need however old they are."""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict, deque
from typing import Any

MAX_THREAD_LINES = 4096  # names of threads seen; the oldest are forgotten past this


class TimedLines:
    def __init__(self, keep_s: float) -> None:
        self.keep_ns = int(keep_s * 1e9)
        self.header: list[str] = []
        self.names: OrderedDict[Any, str] = OrderedDict()
        self.batches: deque[tuple[int, str]] = deque()
        self._lock = threading.Lock()

    # the file-object surface the samplers use
    def write(self, s: str) -> int:
        now = time.monotonic_ns()
        body = []
        for line in s.splitlines():
            if line.startswith('{"t": "header"'):
                self.header = [line]  # a sampler started again (the command restarted)
            elif line.startswith('{"t": "unsupported"'):
                self.header.append(line)
            elif line.startswith('{"t": "thread"'):
                d = json.loads(line)
                with self._lock:
                    self.names[(d.get("pid"), d.get("tid"))] = line
                    while len(self.names) > MAX_THREAD_LINES:
                        self.names.popitem(last=False)
            elif line.startswith('{"t": "end"'):
                continue
            elif line:
                body.append(line)
        if body:
            with self._lock:
                self.batches.append((now, "\n".join(body)))
                while self.batches and self.batches[0][0] < now - self.keep_ns:
                    self.batches.popleft()
        return len(s)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self) -> TimedLines:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def text_between(self, start_ns: int, end_ns: int) -> str:
        """The file a window's reader gets: header, thread names, samples in [start, end]."""
        with self._lock:
            body = [b for t, b in self.batches if start_ns <= t <= end_ns]
            lines = [*self.header, *self.names.values(), *body]
        return "\n".join(lines) + "\n" if body else ""
