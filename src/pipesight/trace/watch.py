"""What `pipesight watch` judged, interval by interval (RUN/intervals.jsonl): the series a
watch run's report draws as the bottleneck over time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Interval:
    index: int
    end_unix: float  # wall clock, seconds since the epoch
    seconds: float  # the interval's length
    fps: float | None  # throughput over the interval, in ``unit``s per second
    unit: str | None  # "frames" or "buffers" (verdict.json's throughput_unit)
    kind: str | None  # the bottleneck's kind; None where nothing was judged
    element: str | None
    confidence: str | None
    complete: bool  # no record lost or cut in this interval
    ended: str | None  # how the command ended in this interval, if it did

    @property
    def start_unix(self) -> float:
        return self.end_unix - self.seconds

    @property
    def bottleneck(self) -> str:
        """The bottleneck as one label: kind and element."""
        if self.kind is None:
            return "not judged"
        return self.kind if not self.element else f"{self.kind} {self.element}"
