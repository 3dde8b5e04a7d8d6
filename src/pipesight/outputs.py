"""Where a verdict goes: the terminal or stdout JSON, and the run directory's files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from pipesight.findings import Verdict
from pipesight.render import json_out, terminal


def write_run_outputs(v: Verdict, run_dir: Path, trace: Any = None, metrics: Any = None) -> None:
    """RUN/verdict.json and, given the trace and its metrics, RUN/report.html and
    RUN/trace.json."""
    try:
        json_out.write(v, run_dir / "verdict.json")
    except OSError:
        return  # a read-only run directory still gets its verdict on the terminal
    if trace is not None and metrics is not None:
        from pipesight.report import write_run_reports

        try:
            write_run_reports(trace, metrics, v, run_dir)
        except Exception as e:  # the verdict stands even if a report cannot be drawn
            if os.environ.get("PIPESIGHT_DEBUG"):
                raise
            print(f"pipesight: could not write the report: {type(e).__name__}: {e}",
                  file=sys.stderr)


def emit(v: Verdict, run_dir: Path | None, as_json: bool, trace: Any = None,
         metrics: Any = None) -> int:
    if run_dir is not None:
        write_run_outputs(v, run_dir, trace, metrics)
    if as_json:
        sys.stdout.write(json_out.dumps(v) + "\n")
    else:
        terminal.render(v)
    return 0
