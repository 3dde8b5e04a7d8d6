"""Where a verdict goes: the terminal or stdout JSON, and the run directory's files."""

from __future__ import annotations

import sys
from pathlib import Path

from pipesight.findings import Verdict
from pipesight.render import json_out, terminal


def write_run_outputs(v: Verdict, run_dir: Path) -> None:
    """RUN/verdict.json (and, where available, the report renderers' files)."""
    try:
        json_out.write(v, run_dir / "verdict.json")
    except OSError:
        pass  # a read-only run directory still gets its verdict on the terminal


def emit(v: Verdict, run_dir: Path | None, as_json: bool) -> int:
    if run_dir is not None:
        write_run_outputs(v, run_dir)
    if as_json:
        sys.stdout.write(json_out.dumps(v) + "\n")
    else:
        terminal.render(v)
    return 0
