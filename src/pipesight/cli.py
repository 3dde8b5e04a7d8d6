"""pipesight's command line. Every user mistake ends in one line on stderr and a non-zero exit;
``PIPESIGHT_DEBUG=1`` shows tracebacks of internal errors."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings

from pipesight import __version__
from pipesight.commands import COMMANDS, Parser
from pipesight.errors import UserError
from pipesight.terminal_text import one_line

EXIT_INTERNAL = 70


def build_parser() -> argparse.ArgumentParser:
    p = Parser(
        prog="pipesight",
        description="Find what limits the throughput of a GStreamer / DeepStream pipeline.",
    )
    p.add_argument("--version", action="version", version=f"pipesight {__version__}")
    sub = p.add_subparsers(dest="cmd", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(f"pipesight.commands.{name}").register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    if not os.environ.get("PIPESIGHT_DEBUG"):
        # numpy's "mean of empty slice" and the like: the code handles the NaN they warn of, and
        # stderr carries only pipesight's own one-line messages
        warnings.filterwarnings("ignore", category=RuntimeWarning)
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as e:
        from pipesight.readers.source import unspool

        print(f"pipesight: {one_line(unspool(str(e)))}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("pipesight: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # a bug must not look like a user's mistake, nor hide as one
        if os.environ.get("PIPESIGHT_DEBUG"):
            raise
        print(f"pipesight: internal error: {type(e).__name__}: {one_line(e)} "
              "(set PIPESIGHT_DEBUG=1 for the traceback)", file=sys.stderr)
        return EXIT_INTERNAL
