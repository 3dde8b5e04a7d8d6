"""Summaries of repeated timings: median and spread, the way benchmark numbers are quoted."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class Spread:
    n: int
    median: float
    mean: float
    min: float
    max: float
    p10: float
    p90: float
    p99: float

    @property
    def rel_spread(self) -> float:
        """(p90 - p10) / median: how much repeats disagree, as a fraction."""
        return (self.p90 - self.p10) / self.median if self.median else float("nan")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rel_spread"] = self.rel_spread
        return d


def spread(values: list[float] | np.ndarray) -> Spread:
    a = np.asarray(values, dtype=np.float64)
    if a.size == 0:
        raise ValueError("no values to summarise")
    p10, p50, p90, p99 = np.percentile(a, [10, 50, 90, 99])
    return Spread(int(a.size), float(p50), float(a.mean()), float(a.min()), float(a.max()),
                  float(p10), float(p90), float(p99))
