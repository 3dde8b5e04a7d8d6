"""Text bound for a terminal: names from a pipeline or a file can hold control characters
(ESC starts colour, cursor and OSC sequences that retitle windows or write links; C1 CSI does
the same in one byte) and bidirectional format characters that reorder what is shown.
``neutral`` shows them as visible escapes instead; every terminal renderer and every line
pipesight prints goes through it (render/safe_text's console for rich output)."""

from __future__ import annotations

import re
from typing import Any

# C0 but tab and newline, DEL, C1, and the bidi marks, embeddings, overrides and isolates
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# one_line also folds line breaks (an error message is one line)
_BREAKS = re.compile("[\t\n\u2028\u2029]+")


def _visible(m: re.Match[str]) -> str:
    c = ord(m.group(0))
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def neutral(s: Any) -> str:
    """``s`` as text that cannot act on a terminal: unsafe characters become ``\\x1b``,
    ``\\u202e`` and so on. Tab and newline are kept."""
    text = s if isinstance(s, str) else str(s)
    return _UNSAFE.sub(_visible, text)


def one_line(s: Any) -> str:
    """``neutral`` on one line: line breaks and tabs become a space."""
    return _BREAKS.sub(" ", neutral(s)).strip()
