"""doctor's screen: each problem in plain words, the exact lines that show it, the fix and
where the advice is documented. Every string from the user's files is escaped."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape

from pipesight.findings import Finding, Verdict
from pipesight.render import safe_text

MAX_EVIDENCE = 5
MAX_QUOTE_LINES = 4
MAX_LINE = 220


def render(v: Verdict, console: Console | None = None) -> None:
    c = console or safe_text.console()
    problems = [f for f in v.findings if f.severity != "info"]
    notes = [f for f in v.findings if f.severity == "info"]
    if problems:
        c.print(f"[bold]pipesight doctor[/bold]: {len(problems)} problem(s)"
                + (f", {len(notes)} note(s)" if notes else ""))
    else:
        c.print(f"[bold]pipesight doctor[/bold]: {escape(v.bottleneck.summary)}"
                + (f" ({len(notes)} note(s))" if notes else ""))
    for i, f in enumerate(problems + notes, start=1):
        _finding(c, i, f)
    if v.seen:
        c.print(f"[dim]Read: {escape('; '.join(v.seen))}[/dim]")
    if v.not_seen:
        c.print(f"[dim]Not seen: {escape('; '.join(v.not_seen))}[/dim]")


def _finding(c: Console, i: int, f: Finding) -> None:
    colour = {"critical": "red", "warning": "yellow", "info": "cyan"}[f.severity]
    c.print()
    c.print(f"[bold {colour}]{i}. {escape(f.title)}[/bold {colour}] "
            f"[dim]({escape(f.code)}, {escape(f.confidence)})[/dim]")
    if f.detail:
        c.print(escape(f.detail))
    for e in f.evidence[:MAX_EVIDENCE]:
        lines = str(e.value).splitlines() or [""]
        c.print(f"[dim]  {escape(e.metric)} {escape('[' + e.source + ']')}:[/dim]")
        for ln in lines[:MAX_QUOTE_LINES]:
            c.print(f"[dim]    {escape(_cut(ln))}[/dim]")
        if len(lines) > MAX_QUOTE_LINES:
            c.print(f"[dim]    … {len(lines) - MAX_QUOTE_LINES} more line(s)[/dim]")
    if len(f.evidence) > MAX_EVIDENCE:
        c.print(f"[dim]  … {len(f.evidence) - MAX_EVIDENCE} more in --json[/dim]")
    if f.fix:
        c.print(f"[green]Fix:[/green] {escape(f.fix)}")
    for r in f.references:
        c.print(f"[dim]See: {escape(r)}[/dim]")


def _cut(s: str) -> str:
    return s if len(s) <= MAX_LINE else s[: MAX_LINE - 1] + "…"
