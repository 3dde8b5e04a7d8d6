"""The console every terminal renderer prints through: rich, with every string it is given
made neutral first (pipesight.terminal_text), markup included (markup is ours and holds no
control characters, so this changes only what came from outside), and wrapped as
render/wrapping says for where it prints."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipesight.render import wrapping
from pipesight.terminal_text import neutral, one_line

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["console", "neutral", "one_line"]


def console(**kwargs: Any) -> Console:
    from rich.console import Console

    class SafeConsole(Console):
        def render_str(self, text: str, **kw: Any) -> Any:
            return super().render_str(neutral(text), **kw)

    kwargs.setdefault("highlight", False)
    return SafeConsole(**{**wrapping.options(kwargs.get("file")), **kwargs})
