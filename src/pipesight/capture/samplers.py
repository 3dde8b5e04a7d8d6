"""The hardware samplers `pipesight profile` runs beside the /proc one: NVML (NVIDIA GPUs) and
tegrastats (Jetson). Each writes RUN/samples/NAME.jsonl; one that cannot run on this machine is
skipped with a note saying why."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

SKIPPED = "skipped"


class Sampler:
    """A background thread that calls ``sample`` every ``interval_s`` until stopped."""

    name = "sampler"

    def __init__(self, out: Path, interval_s: float = 0.1) -> None:
        self.out = out
        self.interval = interval_s
        self.samples = 0
        self.cpu_ns = 0  # CPU time the sampling thread used
        self.note: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"pipesight-{self.name}",
                                        daemon=True)

    # where samples go instead of self.out: set by `pipesight watch` to a bounded sink
    sink: IO[str] | None = None

    def _open(self) -> IO[str]:
        return self.sink if self.sink is not None else open(self.out, "w")

    # subclasses: open() says whether the sampler can run (setting self.note if not)
    def open(self) -> bool:
        return True

    def header(self) -> dict[str, Any]:
        return {}

    def sample(self, f: IO[str]) -> None:
        raise NotImplementedError

    def close(self, f: IO[str]) -> None:
        pass

    def start(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        import json

        t0 = time.thread_time_ns()
        with self._open() as f:
            f.write(json.dumps({"t": "header", "sampler": self.name, "interval_s": self.interval,
                                "clock": "monotonic", **self.header()}) + "\n")
            next_at = time.monotonic()
            while not self._stop.is_set():
                try:
                    self.sample(f)
                except Exception as e:  # a sampler must never take the run down
                    self.note = f"{self.name} sampler stopped: {type(e).__name__}: {e}"
                    break
                self.samples += 1
                next_at += self.interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))
            self.close(f)
            self.cpu_ns = time.thread_time_ns() - t0
            f.write(json.dumps({"t": "end", "samples": self.samples, "cpu_ns": self.cpu_ns,
                                "note": self.note}) + "\n")


@dataclass
class SamplerSet:
    running: list[Sampler] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)

    def stop(self) -> None:
        for s in self.running:
            s.stop()

    def notes(self) -> list[str]:
        out = [f"{name} sampler skipped: {why}" for name, why in self.skipped.items()]
        out += [s.note for s in self.running if s.note]
        return out

    def summary(self) -> dict[str, Any]:
        d: dict[str, Any] = {name: {"status": SKIPPED, "why": why}
                             for name, why in self.skipped.items()}
        for s in self.running:
            d[s.name] = {"status": "ran", "file": f"samples/{s.out.name}", "samples": s.samples,
                         "interval_s": s.interval, "cpu_s": round(s.cpu_ns / 1e9, 4),
                         "note": s.note}
        return d
