"""Ctrl-C (SIGINT), SIGTERM and SIGHUP while a command runs under pipesight: counted, never
raised, so that the run is stopped the way --duration stops it and its answer is still
written. The first asks the command to stop cleanly (EOS); a second stops it at once."""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType

CAUGHT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class Interrupts:
    """A context in which CAUGHT signals are counted. ``first`` is the first one received."""

    def __init__(self) -> None:
        self.count = 0
        self.first: signal.Signals | None = None
        self.event = threading.Event()
        self._old: dict[signal.Signals, object] = {}

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        if self.first is None:
            self.first = signal.Signals(signum)
        self.event.set()

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is not threading.main_thread():
            return self  # signals are the main thread's: elsewhere leave them alone
        for sig in CAUGHT:
            self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        for sig, old in self._old.items():
            signal.signal(sig, old)  # type: ignore[arg-type]

    @property
    def exit_status(self) -> int | None:
        """128 + the first signal, as a shell reports a command it ended: 130 for Ctrl-C."""
        return None if self.first is None else 128 + int(self.first)
