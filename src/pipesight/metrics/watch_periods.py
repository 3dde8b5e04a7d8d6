"""The bottleneck over time of a `pipesight watch` run: its judged intervals merged into
periods with one bottleneck each, and how often it moved."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field

from pipesight.trace.watch import Interval


@dataclass
class Period:
    """Consecutive intervals with the same bottleneck (kind and element)."""

    bottleneck: str  # Interval.bottleneck
    kind: str | None
    element: str | None
    start_s: float  # seconds since the first interval's start
    end_s: float
    intervals: list[Interval] = field(default_factory=list)

    @property
    def confidence(self) -> str | None:
        """The confidence most of its intervals had."""
        c = Counter(i.confidence for i in self.intervals if i.confidence)
        return c.most_common(1)[0][0] if c else None

    @property
    def mean_fps(self) -> float | None:
        """Throughput over the period: each interval weighted by its length."""
        timed = [(i.fps, i.seconds) for i in self.intervals if i.fps is not None and i.seconds]
        total = sum(s for _, s in timed)
        return sum(f * s for f, s in timed) / total if total else None

    @property
    def incomplete(self) -> int:
        return sum(not i.complete for i in self.intervals)


def periods(intervals: list[Interval]) -> list[Period]:
    """Runs of equal bottlenecks, in order. A gap between intervals (pipesight stopped, or a
    restart) does not split a period: times stay those of the intervals."""
    if not intervals:
        return []
    t0 = intervals[0].start_unix
    out: list[Period] = []
    for iv in intervals:
        last = out[-1] if out else None
        if last is None or last.bottleneck != iv.bottleneck:
            last = Period(iv.bottleneck, iv.kind, iv.element, iv.start_unix - t0,
                          iv.end_unix - t0)
            out.append(last)
        last.end_s = iv.end_unix - t0
        last.intervals.append(iv)
    return out


def changes(ps: list[Period]) -> int:
    """How often the bottleneck moved between judged intervals ("not judged" is no move)."""
    judged = [p.bottleneck for p in ps if p.kind is not None]
    return sum(a != b for a, b in itertools.pairwise(judged))
