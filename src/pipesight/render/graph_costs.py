"""What the pipeline graph is coloured by: each element's cost and each queue's fill, read
from a verdict (its verdict.json form), and the colour scales that show them."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

# share of its streaming thread -> fill colour (light yellow to dark red)
_COST_STOPS = [(0.0, (255, 255, 229)), (0.15, (254, 227, 145)), (0.35, (254, 153, 41)),
               (0.6, (227, 26, 28)), (1.0, (128, 0, 38))]
# queue mean fill -> fill colour (pale to deep blue)
_FILL_STOPS = [(0.0, (239, 246, 255)), (0.5, (158, 202, 225)), (1.0, (33, 113, 181))]
NO_DATA = "#eeeeee"
BOTTLENECK_COLOUR = "#7b00d4"  # outside the cost ramp and the queue blues


@dataclass(frozen=True)
class ElementCost:
    share: float | None  # of its main streaming thread's time, 0..1
    ms_per_buffer: float | None
    p99_ms: float | None
    thread: str | None
    fps: float | None


@dataclass(frozen=True)
class QueueCost:
    mean_fill: float | None  # of the fullest limit, time-weighted, 0..1
    full_pct: float | None
    empty_pct: float | None
    mean_level_buffers: float | None
    max_buffers: int | None  # the buffers limit, when set


@dataclass
class GraphCosts:
    elements: dict[str, ElementCost] = field(default_factory=dict)
    queues: dict[str, QueueCost] = field(default_factory=dict)
    bottleneck: str | None = None
    bottleneck_kind: str | None = None
    confidence: str | None = None

    @classmethod
    def from_verdict(cls, d: dict[str, Any]) -> GraphCosts:
        """From a verdict's dict form (Verdict.to_dict() or a verdict.json)."""
        c = cls()
        for r in d.get("elements") or []:
            if not isinstance(r, dict) or not isinstance(r.get("name"), str):
                continue
            c.elements[r["name"]] = ElementCost(
                share=_num(r.get("thread_share")),
                ms_per_buffer=_num(r.get("mean_process_ms")),
                p99_ms=_num(r.get("p99_process_ms")),
                thread=r.get("thread") if isinstance(r.get("thread"), str) else None,
                fps=_num(r.get("fps")),
            )
        for q in d.get("queues") or []:
            if not isinstance(q, dict) or not isinstance(q.get("element"), str):
                continue
            lim = q.get("limits") if isinstance(q.get("limits"), dict) else {}
            c.queues[q["element"]] = QueueCost(
                mean_fill=_num(q.get("mean_fill")),
                full_pct=_num(q.get("full_pct")),
                empty_pct=_num(q.get("empty_pct")),
                mean_level_buffers=_num(q.get("mean_level_buffers")),
                max_buffers=lim.get("buffers") if isinstance(lim.get("buffers"), int) else None,
            )
        b = d.get("bottleneck") or {}
        if isinstance(b, dict):
            c.bottleneck = b.get("element") if isinstance(b.get("element"), str) else None
            c.bottleneck_kind = b.get("kind") if isinstance(b.get("kind"), str) else None
            c.confidence = b.get("confidence") if isinstance(b.get("confidence"), str) else None
        return c


def _num(v: Any) -> float | None:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else None


def _ramp(stops: list[tuple[float, tuple[int, int, int]]], x: float) -> str:
    x = min(max(x, 0.0), 1.0)
    for (x0, c0), (x1, c1) in pairwise(stops):
        if x <= x1:
            f = (x - x0) / (x1 - x0) if x1 > x0 else 0.0
            rgb = tuple(round(a + (b - a) * f) for a, b in zip(c0, c1, strict=True))
            return "#{:02x}{:02x}{:02x}".format(*rgb)
    return "#{:02x}{:02x}{:02x}".format(*stops[-1][1])


def cost_colour(share: float | None) -> str:
    return NO_DATA if share is None else _ramp(_COST_STOPS, share)


def fill_colour(fill: float | None) -> str:
    return NO_DATA if fill is None else _ramp(_FILL_STOPS, fill)


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on the background."""
    r, g, b = (int(background[i:i + 2], 16) for i in (1, 3, 5))
    return "#000000" if 0.299 * r + 0.587 * g + 0.114 * b > 140 else "#ffffff"


def legend_stops(n: int = 6) -> list[tuple[float, str]]:
    """Colour samples of the cost scale, for a legend."""
    return [(i / (n - 1), cost_colour(i / (n - 1))) for i in range(n)]
