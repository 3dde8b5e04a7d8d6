"""A watch run's bottleneck over time, for report.html: a band coloured by what limited the
pipeline in each interval, the throughput under it, and the periods as a table."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from markupsafe import Markup

from pipesight.metrics.watch_periods import Period, changes, periods
from pipesight.render.svg_charts import OTHER, PALETTE, Line, Span, line_chart, strip_chart
from pipesight.trace.watch import Interval

MAX_ROWS = 60  # periods listed; the band shows them all
NOT_JUDGED = "#ffffff"


@dataclass
class WatchView:
    intervals: int
    interval_s: float  # the median interval's length
    span_s: float  # from the first interval's start to the last one's end
    changes: int
    unit: str  # "fps" or "buffers/s"
    band: Markup
    throughput: Markup | None
    legend: list[tuple[str, str]] = field(default_factory=list)  # bottleneck, colour
    rows: list[dict[str, Any]] = field(default_factory=list)
    more: int = 0  # periods left out of the table


def watch_view(intervals: list[Interval]) -> WatchView | None:
    ps = periods(intervals)
    if not ps:
        return None
    # one colour per bottleneck, the longest-lasting first
    held: dict[str, float] = {}
    for p in ps:
        if p.kind is not None:
            held[p.bottleneck] = held.get(p.bottleneck, 0.0) + p.end_s - p.start_s
    order = sorted(held, key=lambda b: -held[b])
    colour = {b: PALETTE[i] if i < len(PALETTE) else OTHER for i, b in enumerate(order)}
    unit = "buffers/s" if any(i.unit == "buffers" for i in intervals) else "fps"
    t0 = intervals[0].start_unix
    span = intervals[-1].end_unix - t0
    x_label = "seconds since the first interval"
    band = strip_chart([Span(p.bottleneck, p.start_s, p.end_s,
                             colour.get(p.bottleneck, NOT_JUDGED), _tooltip(p, unit))
                        for p in ps], x_range=(0.0, span), x_label=x_label)
    timed = [i for i in intervals if i.fps is not None]
    fps = None
    if timed:
        xs = np.array([i.start_unix - t0 for i in timed] + [timed[-1].end_unix - t0])
        ys = np.array([i.fps for i in timed] + [timed[-1].fps])
        fps = line_chart([Line(f"throughput ({unit})", xs, ys, "#333333", step=True)],
                         x_range=(0.0, span), y_label=unit, x_label=x_label)
    rows = [{"from_s": p.start_s, "to_s": p.end_s, "bottleneck": p.bottleneck,
             "colour": colour.get(p.bottleneck, NOT_JUDGED), "confidence": p.confidence,
             "mean_fps": p.mean_fps, "intervals": len(p.intervals),
             "incomplete": p.incomplete} for p in ps]
    return WatchView(
        intervals=len(intervals),
        interval_s=statistics.median(i.seconds for i in intervals),
        span_s=span,
        changes=changes(ps),
        unit=unit,
        band=band,
        throughput=fps,
        legend=[(b, colour[b]) for b in order],
        rows=rows[-MAX_ROWS:],  # the latest: a long watch is read from its end
        more=max(len(rows) - MAX_ROWS, 0),
    )


def _tooltip(p: Period, unit: str) -> str:
    fps = "" if p.mean_fps is None else f", {p.mean_fps:.1f} {unit}"
    return (f"{p.start_s:.0f}–{p.end_s:.0f} s: {p.bottleneck}"
            f"{f' ({p.confidence})' if p.confidence else ''}{fps}, "
            f"{len(p.intervals)} interval(s)")
