"""pipesight analyze PATH [--json]: redo the analysis from a run directory or a file."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

# the input was read, but it is incomplete (truncated, or its run failed)
EXIT_INCOMPLETE = 4


def register(sub: argparse._SubParsersAction) -> None:
    an = sub.add_parser("analyze", help="analyze a run directory or a trace file again",
                        description="Redo the analysis from a run directory, or from a file made "
                        "elsewhere (a GStreamer tracer log, ...).")
    an.add_argument("path", metavar="PATH")
    an.add_argument("--json", action="store_true", help="print verdict JSON only")
    an.add_argument("--delay", type=float, default=None, metavar="S",
                    help="leave the first S seconds out of the window")
    an.add_argument("--ceiling", metavar="FPS|FILE", help="the model alone's throughput (a "
                    "number, a bench-model JSON report or a trtexec log); replaces the run's")
    an.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    from pipesight.workflows.answer import analyze_path
    from pipesight.workflows.outputs import emit

    path = Path(a.path)
    ceiling = None
    if a.ceiling:
        from pipesight.readers.ceiling import read

        ceiling = read(a.ceiling)
    trace, metrics, verdict, _ = analyze_path(path, a.delay, ceiling)
    emit(verdict, path if path.is_dir() else None, as_json=a.json, trace=trace, metrics=metrics)
    truncated = trace.extras.get("truncated")
    if truncated:
        print(f"pipesight: {truncated}: the input looks truncated; analysed as far as it goes",
              file=sys.stderr)
        return EXIT_INCOMPLETE
    if trace.run.get("failed"):
        print(f"pipesight: the profiled command failed ({trace.run.get('failure')}); analysed "
              "as far as it goes", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0
