"""What a comparison holds: one Change per number, rows per subject, the bottleneck's move and
the two sides in brief. diff fills it, summary words it, render/compare_* draw it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipesight.compare import noise
from pipesight.compare.matching import Matching
from pipesight.compare.prediction import PredictionCheck

SCHEMA = 1


@dataclass(frozen=True)
class Change:
    metric: str
    a: float | None
    b: float | None
    threshold: float | None  # the smallest |B - A| that counts
    basis: str | None  # "repeats" or "margin"; None when a side lacks the number
    significant: bool

    @property
    def spec(self) -> noise.Spec:
        return noise.spec(self.metric)

    @property
    def delta(self) -> float | None:
        return None if self.a is None or self.b is None else self.b - self.a

    @property
    def delta_pct(self) -> float | None:
        d = self.delta
        return None if d is None or not self.a else 100.0 * d / abs(self.a)

    @property
    def better(self) -> bool | None:
        """True when B is better, False when worse, None when it did not count or neither
        direction is better in itself."""
        hib, d = self.spec.higher_is_better, self.delta
        if not self.significant or hib is None or d is None:
            return None
        return (d > 0) == hib


@dataclass
class Row:
    section: str
    a: str | None  # subject on A's side (element, thread, queue, device, range)
    b: str | None
    changes: dict[str, Change] = field(default_factory=dict)
    how: str | None = None  # for elements: how A's and B's were paired
    type_a: str | None = None
    type_b: str | None = None

    @property
    def significant(self) -> bool:
        return any(c.significant for c in self.changes.values())


@dataclass
class BottleneckMove:
    a: dict[str, Any]
    b: dict[str, Any]
    a_element_in_b: str | None  # B's name for A's bottleneck element
    b_element_in_a: str | None  # A's name for B's bottleneck element
    moved: bool


@dataclass
class SideInfo:
    label: str
    kind: str
    runs: int  # repeats measured (0: a single run)
    throughput_fps: float | None
    window_s: float | None
    bottleneck: dict[str, Any]
    has_graph: bool


@dataclass
class Comparison:
    a: SideInfo
    b: SideInfo
    throughput: Change
    bottleneck: BottleneckMove
    rows: list[Row]
    matching: Matching
    noise_basis: str  # "repeats" when either side was repeated, else "margin"
    margins: dict[str, str]
    status: str = ""
    sentence: str = ""
    notes: list[str] = field(default_factory=list)
    gate: dict[str, Any] | None = None
    prediction: PredictionCheck | None = None  # A's predicted rate for the fix B applied

    def section(self, name: str) -> list[Row]:
        return [r for r in self.rows if r.section == name]
