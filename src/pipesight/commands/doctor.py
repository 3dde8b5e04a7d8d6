"""pipesight doctor [--json] [--benchmark] PATH... | doctor [options] -- COMMAND ..."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from pipesight.capture.run_names import new_run_dir
from pipesight.commands import Parser
from pipesight.errors import UserError
from pipesight.terminal_text import one_line

EXIT_TARGET_FAILED = 3


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "doctor", help="explain why a pipeline fails, stalls or hangs; lint it for known traps",
        description="Explain a failing, stalled or hanging pipeline from a GST_DEBUG log, "
        "gst-launch-1.0 output, a DOT dump, a deepstream-app config or a run directory; or run "
        "COMMAND (after --) with the evidence switched on. Also lints graphs and deepstream-app "
        "configs for known DeepStream performance traps.")
    _options(d)
    d.add_argument("args", nargs=argparse.REMAINDER, metavar="PATH... | -- COMMAND [ARGS...]")
    d.set_defaults(func=run)


def _options(p: argparse.ArgumentParser) -> None:
    p.add_argument("-o", "--output", metavar="RUN_DIR",
                   help="run directory for COMMAND (default: a new "
                   "pipesight-runs/DATE-TIME-doctor-NAME-XXXX)")
    p.add_argument("--json", action="store_true", help="print the verdict JSON only")
    p.add_argument("--benchmark", action="store_true",
                   help="this is a throughput run: sinks that sync, displays, tiler and OSD are "
                   "warnings")
    p.add_argument("--stall", type=float, default=None, metavar="S",
                   help="COMMAND is hung when no buffer moved for S seconds (default 5)")
    p.add_argument("--timeout", type=float, default=None, metavar="S",
                   help="COMMAND is hung if still running after S seconds: record where it "
                   "waits, then stop it")
    p.add_argument("--duration", type=float, default=None, metavar="S",
                   help="stop COMMAND cleanly (EOS) after S seconds (a live pipeline)")
    p.add_argument("--grace", type=float, default=3.0, metavar="S",
                   help="after the interrupt, wait S s for the command to exit")


def _paths_after_options(a: argparse.Namespace) -> list[str]:
    """PATH... with doctor's options anywhere among them (`doctor FILE --json`), as the other
    subcommands take them: argparse's REMAINDER, needed for `-- COMMAND`, keeps options that
    follow the first path as paths, so they are parsed again here."""

    p = Parser(prog="pipesight doctor", add_help=False)
    _options(p)
    p.add_argument("paths", nargs="*")
    # into the same namespace: options given before the first path keep their values (argparse
    # sets a default only where the namespace has none)
    p.parse_args(a.args, namespace=a)
    return list(a.paths)


def run(a: argparse.Namespace) -> int:
    from pipesight.doctor import inputs
    from pipesight.doctor.diagnose import diagnose
    from pipesight.render import doctor_view, json_out
    from pipesight.workflows.outputs import write_text

    args = list(a.args)
    if args and args[0] != "--":
        args = _paths_after_options(a)
    for name in ("stall", "timeout", "duration", "grace"):
        v = getattr(a, name)
        if v is not None and v <= 0:
            raise UserError(f"--{name} must be positive")
    failed = None
    if args and args[0] == "--":
        cmd = args[1:]
        if not cmd:
            raise UserError("no command given: pipesight doctor [options] -- COMMAND [ARGS...]")
        from pipesight.doctor.run import DEFAULT_STALL_S, run_command

        run_dir = Path(a.output) if a.output else new_run_dir(f"doctor-{Path(cmd[0]).name}")
        if not a.json:
            print(f"pipesight: running {one_line(cmd[0])} with doctor's evidence on -> "
                  f"{one_line(run_dir)}", file=sys.stderr)
        res = run_command(cmd, run_dir, a.stall or DEFAULT_STALL_S, a.timeout, a.duration,
                          a.grace)
        inp = inputs.load([run_dir], benchmark=a.benchmark)
        inp.on_this_machine = True
        failed = res.manifest.get("failure") if res.failed else None
        if inp.hang is not None:
            failed = f"it hung ({inp.hang.reason}); the stacks are in {run_dir / 'doctor'}"
        paths = [run_dir]
    else:
        if not args:
            raise UserError("give a file or run directory to read, or -- COMMAND to run")
        if a.stall or a.timeout or a.duration or a.output:
            raise UserError("--stall, --timeout, --duration and -o apply to -- COMMAND only")
        paths = [Path(p) for p in args]
        inp = inputs.load(paths, benchmark=a.benchmark)
    v = diagnose(inp)
    if len(paths) == 1 and paths[0].is_dir():
        with contextlib.suppress(OSError):  # a read-only run directory
            write_text(paths[0] / "doctor.json", json_out.dumps(v) + "\n")
    if a.json:
        sys.stdout.write(json_out.dumps(v) + "\n")
    else:
        doctor_view.render(v)
        if failed:
            print(f"Run directory: {one_line(paths[0])}")
    if failed:
        if not a.json:
            print(f"pipesight: the command failed: {one_line(failed)}", file=sys.stderr)
        return EXIT_TARGET_FAILED
    return 0
