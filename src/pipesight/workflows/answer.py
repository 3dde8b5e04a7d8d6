"""From an input (run directory or file) to a verdict: read, measure, judge."""

from __future__ import annotations

from pathlib import Path

from pipesight import metrics as metrics_mod
from pipesight.findings import Verdict
from pipesight.metrics import Metrics
from pipesight.readers import load
from pipesight.trace import Trace
from pipesight.trace.ceiling import Ceiling
from pipesight.verdict import build_verdict


def analyze_trace(trace: Trace, delay_s: float | None = None) -> tuple[Metrics, Verdict]:
    if delay_s is None:
        delay_s = float(trace.run.get("delay_s") or 0.0)
    m = metrics_mod.compute(trace, delay_s)
    v = build_verdict(trace, m)
    v.run.setdefault("notes", [])
    return m, v


def analyze_path(path: Path, delay_s: float | None = None, ceiling: Ceiling | None = None
                 ) -> tuple[Trace, Metrics, Verdict, str]:
    trace, kind = load(path)
    if ceiling is not None:
        trace.ceiling = ceiling
    m, v = analyze_trace(trace, delay_s)
    return trace, m, v, kind
