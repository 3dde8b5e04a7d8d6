"""`pipesight compare`: what a change did, from two runs.

inputs    turns each path (run directory, repeated run, verdict.json, any file `analyze` reads)
          into a Side: its verdict in dict form, the verdicts of its repeats, its element graph
graph     the elements and links of one side, as names (links only where a trace recorded them)
matching  pairs A's elements with B's: by name, then by position in the graph, then by type
values    the numbers compared, read from a verdict dict, and their spread over repeats
noise     how large a change must be to count: measured over repeats, else a stated margin
diff      the comparison itself: one Change per number, rows per element/thread/queue/GPU
summary   the one sentence that says what moved, and the overall status
gates     (pipesight.gates) the CI exit conditions

Everything here is a pure function of the two sides; render/compare_* draw the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipesight.compare.diff import Comparison


def compare_paths(a: Path, b: Path, margin_pct: float | None = None) -> Comparison:
    """Loads both inputs and compares them (the command's work, without rendering)."""
    from pipesight.compare.diff import compare
    from pipesight.compare.inputs import load_side

    return compare(load_side(a), load_side(b), margin_pct=margin_pct)
