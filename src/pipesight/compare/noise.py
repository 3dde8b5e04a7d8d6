"""How large a change must be to count.

With repeats (``pipesight profile --repeat N``) on either side, a change counts when
``|mean_B - mean_A| > 2 * sqrt(sd_A**2 + sd_B**2)``, the standard deviations measured over
each side's repeats for that very number (a side run once borrows the other side's); never
below the metric's floor, so that identical repeats do not make every wobble count.

Without repeats, a change counts when it exceeds the metric's default margin:
``max(rel * |A|, abs)``. docs/compare.md lists the margins; ``--margin PCT`` replaces the
relative margin of throughput and time per buffer.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

Z = 2.0  # standard deviations of the difference a change must exceed


@dataclass(frozen=True)
class Spec:
    label: str
    unit: str
    rel: float  # default margin, relative to A's value
    abs: float  # default margin, absolute (in unit)
    floor: float  # smallest change that ever counts, with repeats
    higher_is_better: bool | None  # None: neither direction is better in itself


SPECS: dict[str, Spec] = {
    "throughput_fps": Spec("throughput", "fps", 0.05, 0.1, 0.05, True),
    "fps": Spec("frames per second", "fps", 0.05, 0.1, 0.05, True),
    "ms_per_buffer": Spec("time per buffer", "ms", 0.20, 0.05, 0.005, False),
    "p99_ms": Spec("p99 time per buffer", "ms", 0.50, 0.1, 0.01, False),
    "thread_share_pct": Spec("share of its thread", "%", 0.0, 5.0, 0.5, None),
    "busy_pct": Spec("busy", "%", 0.0, 5.0, 0.5, None),
    "cpu_pct": Spec("CPU", "% of a core", 0.0, 5.0, 0.5, None),
    "worker_cpu_pct": Spec("CPU of its worker threads", "% of a core", 0.0, 5.0, 0.5, None),
    "mean_fill_pct": Spec("mean fill", "%", 0.0, 10.0, 1.0, None),
    "full_pct": Spec("full", "% of time", 0.0, 10.0, 1.0, None),
    "empty_pct": Spec("empty", "% of time", 0.0, 10.0, 1.0, None),
    "dropped": Spec("dropped", "buffers", 0.20, 2.0, 1.0, False),
    "dropped_pct": Spec("dropped", "% of buffers", 0.0, 1.0, 0.1, False),
    "latency_ms": Spec("mean latency", "ms", 0.10, 0.05, 0.01, False),
    "latency_p99_ms": Spec("p99 latency", "ms", 0.50, 0.1, 0.02, False),
    "gpu_busy_pct": Spec("GPU busy", "% of span", 0.0, 5.0, 0.5, True),
    "gpu_idle_pct": Spec("GPU idle in gaps", "% of span", 0.0, 5.0, 0.5, False),
    "gpu_gaps_per_s": Spec("GPU idle gaps", "per s", 0.10, 1.0, 0.2, False),
    "gpu_ms": Spec("GPU time", "ms", 0.10, 0.05, 0.01, False),
    "gpu_ms_per_frame": Spec("GPU time per frame", "ms", 0.10, 0.01, 0.002, False),
    "gpu_share_pct": Spec("share of GPU time", "%", 0.0, 5.0, 0.5, None),
}
RELATIVE_OVERRIDABLE = ("throughput_fps", "fps", "ms_per_buffer")


@dataclass(frozen=True)
class Spread:
    """One number of one side: its value in each run."""

    values: tuple[float, ...]

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values)

    @property
    def sd(self) -> float | None:
        return statistics.stdev(self.values) if len(self.values) > 1 else None


@dataclass(frozen=True)
class Threshold:
    value: float  # the smallest |B - A| that counts
    basis: str  # "repeats" or "margin"


def spec(metric: str) -> Spec:
    return SPECS[metric]


def threshold(metric: str, a: Spread, b: Spread, margin_pct: float | None = None
              ) -> Threshold:
    s = SPECS[metric]
    sd_a, sd_b = a.sd, b.sd
    if sd_a is not None or sd_b is not None:
        sd_a = sd_b if sd_a is None else sd_a
        sd_b = sd_a if sd_b is None else sd_b
        assert sd_a is not None and sd_b is not None
        return Threshold(max(Z * math.hypot(sd_a, sd_b), s.floor), "repeats")
    rel = s.rel
    if margin_pct is not None and metric in RELATIVE_OVERRIDABLE:
        rel = margin_pct / 100.0
    return Threshold(max(rel * abs(a.mean), s.abs), "margin")


def default_margins(margin_pct: float | None = None) -> dict[str, str]:
    """Each metric's default margin in words, as the output states it."""
    out = {}
    for k, s in SPECS.items():
        rel = margin_pct / 100.0 if margin_pct is not None and k in RELATIVE_OVERRIDABLE \
            else s.rel
        parts = []
        if rel:
            parts.append(f"{100 * rel:g}%")
        if s.abs:
            parts.append(f"{s.abs:g} points" if s.unit.startswith("%")
                         else f"{s.abs:g} {s.unit}")
        out[k] = " or ".join(parts) if len(parts) == 1 else f"max({', '.join(parts)})"
    return out
