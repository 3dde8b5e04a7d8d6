"""Reading text logs tolerantly: any encoding, colour codes, carriage returns, a last line cut
short."""

from __future__ import annotations

import re
from pathlib import Path

from pipesight.errors import UserError

# ANSI colour and cursor sequences (deepstream-app and GStreamer colour their output)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
MAX_BYTES = 1 << 30  # a text log beyond this is not what these readers are for


def clean_line(line: str) -> str:
    return _ANSI.sub("", line).replace("\r", "").replace("\x00", "")


def read_text_lines(path: Path) -> list[str]:
    try:
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise UserError(f"{path}: {size >> 20} MiB is too large for a text log")
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    return [clean_line(x) for x in data.decode("utf-8", "replace").splitlines()]
