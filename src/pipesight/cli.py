"""pipesight's command line. Every user mistake ends in one line on stderr and a non-zero exit;
``PIPESIGHT_DEBUG=1`` shows tracebacks of internal errors."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from pipesight import __version__
from pipesight.errors import UserError

EXIT_TARGET_FAILED = 3
EXIT_INTERNAL = 70


def _default_run_dir(cmd: list[str]) -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    name = Path(cmd[0]).name if cmd else "run"
    return Path("pipesight-runs") / f"{stamp}-{name}"


def cmd_profile(a: argparse.Namespace) -> int:
    from pipesight.profile import profile

    cmd = list(a.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UserError("no command given: pipesight profile [options] -- COMMAND [ARGS...]")
    if a.repeat < 1:
        raise UserError("--repeat must be 1 or more")
    if a.duration is not None and a.duration <= 0:
        raise UserError("--duration must be positive")
    if a.delay < 0:
        raise UserError("--delay must be 0 or more")
    run_dir = Path(a.output) if a.output else _default_run_dir(cmd)
    return profile(cmd, run_dir, a)


def cmd_analyze(a: argparse.Namespace) -> int:
    from pipesight.analysis import analyze_path
    from pipesight.outputs import emit

    path = Path(a.path)
    _, _, verdict, _ = analyze_path(path, a.delay)
    return emit(verdict, path if path.is_dir() else None, as_json=a.json)


def cmd_lab(a: argparse.Namespace) -> int:
    from pipesight.lab import cli as lab_cli

    return lab_cli.run(a)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pipesight",
        description="Find what limits the throughput of a GStreamer / DeepStream pipeline.",
    )
    p.add_argument("--version", action="version", version=f"pipesight {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND")

    pr = sub.add_parser("profile", help="run a command instrumented and name its bottleneck",
                        description="Run COMMAND (gst-launch-1.0, a Python app, deepstream-app) "
                        "with tracers, write a run directory and print the verdict.")
    pr.add_argument("-o", "--output", metavar="RUN_DIR", help="run directory to write "
                    "(default: pipesight-runs/DATE-NAME)")
    pr.add_argument("--duration", type=float, metavar="S",
                    help="stop the pipeline cleanly (EOS via SIGINT) after S seconds")
    pr.add_argument("--delay", type=float, default=0.0, metavar="S",
                    help="leave the first S seconds (warm-up) out of the analysed window")
    pr.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run N times and report the spread")
    pr.add_argument("--grace", type=float, default=10.0, metavar="S",
                    help="after the interrupt at --duration, wait S s before killing")
    pr.add_argument("--tracers", metavar="LIST", help="';'-separated GStreamer tracers "
                    "(default: pipesight;latency(flags=pipeline+element))")
    pr.add_argument("--json", action="store_true", help="print verdict JSON only")
    pr.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    pr.set_defaults(func=cmd_profile)

    an = sub.add_parser("analyze", help="analyze a run directory or a trace file again",
                        description="Redo the analysis from a run directory, or from a file made "
                        "elsewhere (a GStreamer tracer log, ...).")
    an.add_argument("path", metavar="PATH")
    an.add_argument("--json", action="store_true", help="print verdict JSON only")
    an.add_argument("--delay", type=float, default=None, metavar="S",
                    help="leave the first S seconds out of the window")
    an.set_defaults(func=cmd_analyze)

    lb = sub.add_parser("lab", help="pipelines with known, planted bottlenecks")
    lsub = lb.add_subparsers(dest="lab_cmd", metavar="ACTION")
    lsub.add_parser("list", help="list the scenarios")
    lr = lsub.add_parser("run", help="profile one scenario and check the verdict")
    lr.add_argument("name")
    lr.add_argument("--renamed", action="store_true", help="rename every element first")
    lr.add_argument("--fixed", action="store_true", help="run the scenario's fixed variant")
    lr.add_argument("-o", "--output", metavar="RUN_DIR")
    lr.add_argument("--duration", type=float, default=None, metavar="S")
    lr.add_argument("--json", action="store_true")
    lb.set_defaults(func=cmd_lab)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"pipesight: {e}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("pipesight: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # noqa: BLE001 - a bug must not look like a user's mistake
        if os.environ.get("PIPESIGHT_DEBUG"):
            raise
        print(f"pipesight: internal error: {type(e).__name__}: {e} "
              "(set PIPESIGHT_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
