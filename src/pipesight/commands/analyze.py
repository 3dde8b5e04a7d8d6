"""pipesight analyze PATH [--json]: redo the analysis from a run directory or a file."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    an = sub.add_parser("analyze", help="analyze a run directory or a trace file again",
                        description="Redo the analysis from a run directory, or from a file made "
                        "elsewhere (a GStreamer tracer log, ...).")
    an.add_argument("path", metavar="PATH")
    an.add_argument("--json", action="store_true", help="print verdict JSON only")
    an.add_argument("--delay", type=float, default=None, metavar="S",
                    help="leave the first S seconds out of the window")
    an.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    from pipesight.analysis import analyze_path
    from pipesight.outputs import emit

    path = Path(a.path)
    trace, metrics, verdict, _ = analyze_path(path, a.delay)
    return emit(verdict, path if path.is_dir() else None, as_json=a.json, trace=trace,
                metrics=metrics)
