"""pipesight report PATH [-o FILE] [--trace-json FILE [--slices N]]: the HTML report (and
Perfetto timeline) of a run directory or of a trace file."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipesight.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    rp = sub.add_parser("report", help="write the offline HTML report of a run",
                        description="Analyze a run directory (or a trace file) and write its "
                        "self-contained HTML report: verdict, pipeline graph coloured by cost, "
                        "timelines, tables; for a `pipesight watch` run, also the bottleneck "
                        "over time.")
    rp.add_argument("path", metavar="PATH", help="run directory or trace file")
    rp.add_argument("-o", "--output", metavar="FILE",
                    help="HTML file to write (default: PATH/report.html for a run directory, "
                    "else NAME.report.html here)")
    rp.add_argument("--trace-json", metavar="FILE",
                    help="also write the timeline for ui.perfetto.dev to FILE")
    rp.add_argument("--slices", type=int, default=None, metavar="N",
                    help="slices --trace-json writes one by one before merging the rest per "
                    "element and time bucket (default 20000; 0: every slice, however big)")
    rp.add_argument("--delay", type=float, default=None, metavar="S",
                    help="leave the first S seconds out of the window")
    rp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    from pipesight.render import perfetto
    from pipesight.workflows.answer import analyze_path
    from pipesight.workflows.outputs import REPORT_HTML, clear_target, write_html

    path = Path(a.path)
    if a.slices is not None and (a.slices < 0 or not a.trace_json):
        raise UserError("--slices takes a count of 0 or more, with --trace-json")
    trace, metrics, verdict, _ = analyze_path(path, a.delay)
    run_dir = path if path.is_dir() else None
    out = Path(a.output) if a.output else (
        path / REPORT_HTML if run_dir is not None else Path(f"{path.name}.report.html"))
    if not a.output:
        clear_target(out)  # inside the run directory: never through a pipe or a link there
    try:
        write_html(trace, metrics, verdict, out, name=path.resolve().name)
        if a.trace_json:
            perfetto.write(trace, metrics, Path(a.trace_json), verdict=verdict,
                           max_slices=perfetto.MAX_SLICES if a.slices is None else a.slices)
    except OSError as e:
        raise UserError(f"cannot write {e.filename or out}: {e.strerror}") from None
    print(f"pipesight: wrote {out}" + (f" and {a.trace_json}" if a.trace_json else ""))
    return 0
