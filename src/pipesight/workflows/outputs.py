"""Where a verdict goes: the terminal or stdout JSON, and the run directory's files
(verdict.json, report.html, trace.json)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pipesight.findings import Verdict
from pipesight.metrics import Metrics, timelines
from pipesight.render import html_report, json_out, perfetto, terminal
from pipesight.render.report_page import report_data
from pipesight.trace import Trace


def write_run_outputs(v: Verdict, run_dir: Path, trace: Trace | None = None,
                      metrics: Metrics | None = None) -> None:
    """RUN/verdict.json and, given the trace and its metrics, RUN/report.html and
    RUN/trace.json."""
    try:
        json_out.write(v, run_dir / "verdict.json")
    except OSError:
        return  # a read-only run directory still gets its verdict on the terminal
    if trace is not None and metrics is not None:
        try:
            write_run_reports(trace, metrics, v, run_dir)
        except Exception as e:  # the verdict stands even if a report cannot be drawn
            if os.environ.get("PIPESIGHT_DEBUG"):
                raise
            print(f"pipesight: could not write the report: {type(e).__name__}: {e}",
                  file=sys.stderr)


REPORT_HTML = "report.html"
TRACE_JSON = "trace.json"


def write_run_reports(trace: Trace, metrics: Metrics, verdict: Verdict, run_dir: Path) -> None:
    """RUN/report.html and RUN/trace.json."""
    series = timelines.compute(trace, metrics)
    write_html(trace, metrics, verdict, run_dir / REPORT_HTML, series, name=run_dir.resolve().name)
    perfetto.write(trace, metrics, run_dir / TRACE_JSON, verdict=verdict, timelines=series)


def write_html(trace: Trace, metrics: Metrics, verdict: Verdict, out: Path,
               series: timelines.Timelines | None = None, name: str | None = None) -> None:
    """``name``: the run's, for the title (a run directory's name)."""
    html = html_report.render(report_data(trace, metrics, verdict, series, name=name))
    out.write_text(html, encoding="utf-8")


def emit(v: Verdict, run_dir: Path | None, as_json: bool, trace: Any = None,
         metrics: Any = None) -> int:
    if run_dir is not None:
        write_run_outputs(v, run_dir, trace, metrics)
    if as_json:
        sys.stdout.write(json_out.dumps(v) + "\n")
    else:
        terminal.render(v)
    return 0
