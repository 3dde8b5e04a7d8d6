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
    from pipesight.workflows.answer import answer
    from pipesight.workflows.outputs import emit

    path = Path(a.path)
    ceiling = None
    if a.ceiling:
        from pipesight.readers.ceiling import read

        ceiling = read(a.ceiling)
    ans = answer(path, a.delay, ceiling)
    emit(ans.verdict, path if path.is_dir() else None, as_json=a.json, trace=ans.trace,
         metrics=ans.metrics)
    for note in ans.notes:
        print(f"pipesight: {note}", file=sys.stderr)
    truncated = ans.trace.extras.get("truncated")
    if truncated:
        print(f"pipesight: {truncated}: the input looks truncated; analysed as far as it goes",
              file=sys.stderr)
        return EXIT_INCOMPLETE
    # a repeated run is incomplete when any of its repeats is
    failed = next((v.run for v in ans.repeats or [ans.verdict] if v.run.get("failed")), None)
    if failed is not None:
        print(f"pipesight: the profiled command failed ({failed.get('failure')}); analysed "
              "as far as it goes", file=sys.stderr)
        return EXIT_INCOMPLETE
    return 0
