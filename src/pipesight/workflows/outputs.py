"""Where a verdict goes: the terminal or stdout JSON, and the run directory's files
(verdict.json, report.html, trace.json).

A run directory can come from anywhere (a colleague's tarball): what sits where pipesight
writes its outputs may be a pipe (opening it would wait forever for a reader), a symbolic link
(writing through it would overwrite the file it points to) or a device. Such an entry is
removed first and the output written as a new regular file; the captured files are never
touched."""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any

from pipesight.findings import Verdict
from pipesight.metrics import Metrics, timelines
from pipesight.render import html_report, json_out, perfetto, terminal
from pipesight.render.report_page import report_data
from pipesight.terminal_text import one_line
from pipesight.trace import Trace


def clear_target(path: Path) -> None:
    """Remove what is at ``path`` unless it is a regular file or a directory (a directory stays:
    writing there then fails as an OSError, which callers report)."""
    try:
        st = path.lstat()
    except OSError:
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        with contextlib.suppress(OSError):
            path.unlink()


def write_text(path: Path, text: str) -> None:
    """``text`` into ``path`` as a new file, swapped in whole (never half written, never
    through whatever was at ``path``)."""
    clear_target(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def write_run_outputs(v: Verdict, run_dir: Path, trace: Trace | None = None,
                      metrics: Metrics | None = None) -> None:
    """RUN/verdict.json and, given the trace and its metrics, RUN/report.html and
    RUN/trace.json."""
    try:
        write_text(run_dir / "verdict.json", json_out.dumps(v) + "\n")
    except OSError:
        return  # a read-only run directory still gets its verdict on the terminal
    if trace is not None and metrics is not None:
        for name in (REPORT_HTML, TRACE_JSON):
            clear_target(run_dir / name)
        try:
            write_run_reports(trace, metrics, v, run_dir)
        except Exception as e:  # the verdict stands even if a report cannot be drawn
            if os.environ.get("PIPESIGHT_DEBUG"):
                raise
            print(f"pipesight: could not write the report: {type(e).__name__}: {one_line(e)}",
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
