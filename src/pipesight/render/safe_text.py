"""Text that reaches the terminal: names from a pipeline or a file can hold control characters
(ESC starts colour, cursor and OSC sequences that retitle windows or write links; C1 CSI does
the same in one byte) and bidirectional format characters that reorder what is shown. Every
terminal renderer passes such text through ``neutral`` (or prints through ``console()``, which
does it for every string), so they appear as visible escapes instead of acting."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

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


def console(**kwargs: Any) -> Console:
    """The console every terminal renderer prints through: a rich Console that neutralises
    every string it is given, markup included (markup is ours and holds no control
    characters, so this changes only what came from outside)."""
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text: str, **kw: Any) -> Any:
            return super().render_str(neutral(text), **kw)

    kwargs.setdefault("highlight", False)
    kwargs.setdefault("soft_wrap", False)
    return SafeConsole(**kwargs)
