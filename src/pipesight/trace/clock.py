"""One clock: how a timestamp of one source maps onto another.

pipesight's tracer stamps records with GStreamer's tracer time (CLOCK_MONOTONIC less the
process's GStreamer start); Nsight Systems stamps its events from its session's start. Each
source keeps its own timestamps when read; a ``ClockMap`` says how to carry times across,
with how it was measured and how far off it may be, so that joined numbers can say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ClockMap:
    """``to = y0 + (from - x0) * slope`` (ns), kept around a reference point so that float64
    stays exact to the nanosecond over hours."""

    x0: int
    y0: int
    slope: float
    method: str  # "nvtx-marks", "session-start" ...
    points: int  # measurements the map rests on
    residual_ns: float | None = None  # largest distance of a point from the fitted line
    bound_ns: float | None = None  # how far each point itself may be off (a mark's call time)
    note: str = ""

    def to(self, t: np.ndarray | int) -> np.ndarray:
        d = np.asarray(t, np.int64) - self.x0
        return self.y0 + np.rint(d * self.slope).astype(np.int64)

    def back(self, t: np.ndarray | int) -> np.ndarray:
        d = np.asarray(t, np.int64) - self.y0
        return self.x0 + np.rint(d / self.slope).astype(np.int64)

    @property
    def error_ns(self) -> float | None:
        """What a mapped time may be off by, as measured: None where nothing measured it."""
        if self.residual_ns is None and self.bound_ns is None:
            return None
        return (self.residual_ns or 0.0) + (self.bound_ns or 0.0)

    @property
    def drift_ppm(self) -> float:
        return (self.slope - 1.0) * 1e6

    def to_dict(self) -> dict:
        def us(ns: float | None) -> float | None:
            return None if ns is None else round(ns / 1e3, 3)

        return {"method": self.method, "points": self.points,
                "offset_ns": int(self.y0 - self.x0), "drift_ppm": round(self.drift_ppm, 3),
                "residual_us": us(self.residual_ns), "bound_us": us(self.bound_ns),
                "error_us": us(self.error_ns), "note": self.note}


# a drift needs this much time between the first and last point to be told from noise
MIN_DRIFT_SPAN_NS = 200_000_000


def fit(x: np.ndarray, y: np.ndarray, method: str, bound_ns: float | None = None,
        note: str = "") -> ClockMap | None:
    """The line through points (x on the source clock, y on the target): least squares with
    a slope where the points span long enough, else the median offset."""
    x = np.asarray(x, np.int64)
    y = np.asarray(y, np.int64)
    if x.shape[0] == 0:
        return None
    x0, y0 = int(x[0]), int(y[0])
    dx = (x - x0).astype(np.float64)
    dy = (y - y0).astype(np.float64)
    slope = 1.0
    if x.shape[0] >= 3 and float(dx.max() - dx.min()) >= MIN_DRIFT_SPAN_NS:
        mx, my = dx.mean(), dy.mean()
        slope = float(((dx - mx) * (dy - my)).sum() / ((dx - mx) ** 2).sum())
        c = my - slope * mx
    else:
        c = float(np.median(dy - dx))
    resid = np.abs(dy - (c + slope * dx))
    return ClockMap(x0=x0, y0=round(y0 + c), slope=slope, method=method,
                    points=int(x.shape[0]),
                    residual_ns=float(resid.max()) if x.shape[0] > 1 else None,
                    bound_ns=bound_ns, note=note)
