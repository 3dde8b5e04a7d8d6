"""Small inline SVG charts (lines, steps, stacked areas) for the HTML report: no script, no
library, every label escaped."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from markupsafe import Markup, escape

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1",
           "#ff9da7", "#9c755f", "#bab0ac", "#1f77b4", "#8c564b"]
OTHER = "#cfcfcf"
W, H = 880, 190
L, R, T, B = 56, 12, 10, 26  # margins


@dataclass
class Line:
    label: str
    x: np.ndarray  # seconds
    y: np.ndarray
    colour: str
    step: bool = False


@dataclass
class Layer:
    label: str
    values: np.ndarray  # one per bin, stacked in order
    colour: str


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    if not math.isfinite(lo) or not math.isfinite(hi) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [round(first + i * step, 10) for i in range(int((hi - first) / step) + 1)]


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:g}" if abs(v) >= 0.001 else f"{v:.1e}"


class _Frame:
    def __init__(self, x0: float, x1: float, y0: float, y1: float, width: int, height: int):
        self.x0, self.x1 = x0, x1 if x1 > x0 else x0 + 1
        self.y0, self.y1 = y0, y1 if y1 > y0 else y0 + 1
        self.w, self.h = width, height

    def px(self, x: np.ndarray) -> np.ndarray:
        return L + (np.asarray(x, float) - self.x0) / (self.x1 - self.x0) * (self.w - L - R)

    def py(self, y: np.ndarray) -> np.ndarray:
        return self.h - B - (np.asarray(y, float) - self.y0) / (self.y1 - self.y0) * (
            self.h - T - B)

    def axes(self, x_label: str, y_label: str, y_pct: bool = False) -> list[str]:
        out = [f'<rect class="plot" x="{L}" y="{T}" width="{self.w - L - R}" '
               f'height="{self.h - T - B}"/>']
        for v in nice_ticks(self.y0, self.y1, 4):
            y = float(self.py(np.array([v]))[0])
            out.append(f'<line class="grid" x1="{L}" x2="{self.w - R}" y1="{y:.1f}" y2="{y:.1f}"/>')
            txt = f"{100 * v:.0f}%" if y_pct else _fmt(v)
            out.append(f'<text class="tick" x="{L - 4}" y="{y + 3:.1f}" text-anchor="end">'
                       f"{escape(txt)}</text>")
        out += self.x_axis(x_label)
        out.append(f'<text class="axis" x="4" y="{T + 8}">{escape(y_label)}</text>')
        return out

    def x_axis(self, x_label: str) -> list[str]:
        out = []
        for v in nice_ticks(self.x0, self.x1, 8):
            x = float(self.px(np.array([v]))[0])
            out.append(f'<text class="tick" x="{x:.1f}" y="{self.h - B + 13}" '
                       f'text-anchor="middle">{escape(_fmt(v))}</text>')
        out.append(f'<text class="axis" x="{self.w - R}" y="{self.h - 2}" text-anchor="end">'
                   f"{escape(x_label)}</text>")
        return out


def _points(xs: np.ndarray, ys: np.ndarray) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in zip(xs.tolist(), ys.tolist(), strict=True))


def line_chart(lines: Sequence[Line], *, x_range: tuple[float, float], y_label: str,
               x_label: str = "seconds into the window",
               refs: Sequence[tuple[str, float, str]] = (), width: int = W,
               height: int = H) -> Markup:
    """Lines (or steps) sharing axes; ``refs`` are labelled horizontal lines (limits)."""
    ymax = max([float(np.nanmax(ln.y)) for ln in lines if ln.y.size] + [v for _, v, _ in refs]
               + [1e-9])
    f = _Frame(x_range[0], x_range[1], 0.0, ymax * 1.08, width, height)
    parts = f.axes(x_label, y_label)
    for label, v, colour in refs:
        y = float(f.py(np.array([v]))[0])
        parts.append(f'<line class="ref" x1="{L}" x2="{width - R}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{colour}"><title>{escape(label)}</title></line>')
    for ln in lines:
        if ln.x.size == 0:
            continue
        x, y = ln.x, ln.y
        if ln.step and x.size > 1:
            x = np.repeat(x, 2)[1:]
            y = np.repeat(y, 2)[:-1]
        parts.append(f'<polyline class="series" stroke="{ln.colour}" '
                     f'points="{_points(f.px(x), f.py(y))}"><title>{escape(ln.label)}</title>'
                     "</polyline>")
    return _svg(parts, width, height)


def stacked_chart(edges: np.ndarray, layers: Sequence[Layer], *, y_label: str = "busy",
                  x_label: str = "seconds into the window", width: int = W,
                  height: int = 120) -> Markup:
    """Areas stacked bin by bin (shares 0..1), as steps over the bin edges."""
    f = _Frame(float(edges[0]), float(edges[-1]), 0.0, 1.0, width, height)
    parts = f.axes(x_label, y_label, y_pct=True)
    base = np.zeros(edges.shape[0] - 1)
    xs = np.repeat(edges, 2)[1:-1]
    for layer in layers:
        top = base + layer.values
        upper = np.repeat(top, 2)
        lower = np.repeat(base, 2)
        poly = np.concatenate([f.px(xs), f.px(xs[::-1])]), np.concatenate(
            [f.py(upper), f.py(lower[::-1])])
        parts.append(f'<polygon class="area" fill="{layer.colour}" '
                     f'points="{_points(*poly)}"><title>{escape(layer.label)}</title></polygon>')
        base = top
    return _svg(parts, width, height)


@dataclass
class Span:
    label: str
    x0: float  # seconds
    x1: float
    colour: str
    title: str  # the tooltip: what the span was


def strip_chart(spans: Sequence[Span], *, x_range: tuple[float, float], x_label: str,
                width: int = W, height: int = 54) -> Markup:
    """One band coloured span by span over time (a state: what limited the pipeline when)."""
    f = _Frame(x_range[0], x_range[1], 0.0, 1.0, width, height)
    parts = [f'<rect class="plot" x="{L}" y="{T}" width="{width - L - R}" '
             f'height="{height - T - B}"/>']
    for sp in spans:
        x0, x1 = (float(v) for v in f.px(np.array([sp.x0, sp.x1])))
        parts.append(f'<rect class="span" x="{x0:.1f}" y="{T}" width="{max(x1 - x0, 1.0):.1f}" '
                     f'height="{height - T - B}" fill="{sp.colour}"><title>'
                     f"{escape(sp.title)}</title></rect>")
    return _svg(parts + f.x_axis(x_label), width, height)


def _svg(parts: list[str], width: int, height: int) -> Markup:
    return Markup(f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" '
                  f'height="{height}" role="img">' + "".join(parts) + "</svg>")
