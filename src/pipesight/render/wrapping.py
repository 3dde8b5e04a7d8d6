"""How wide the terminal renderers print. On a terminal, rich wraps text to the window, as a
reader wants. Piped or redirected (grep, CI logs, `| tee`), there is no window: rich would
wrap at 80 columns and cut a sentence, a quoted log line or a table row in two, so then a
line is as long as its text."""

from __future__ import annotations

import sys
from typing import IO, Any

# the width tables may take when piped: wide enough for any row, so none is folded
PIPED_WIDTH = 10_000


def options(stream: IO[str] | None = None) -> dict[str, Any]:
    """rich Console arguments for printing to ``stream`` (default: stdout)."""
    s = stream if stream is not None else sys.stdout
    try:
        tty = s.isatty()
    except (AttributeError, ValueError):  # closed or not a file
        tty = False
    if tty:
        return {"soft_wrap": False}
    return {"soft_wrap": True, "width": PIPED_WIDTH}
