"""compare on the terminal: both runs in a line each, the sentence, then the numbers side by
side (changes beyond the noise in colour: green better, red worse, yellow neither)."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipesight.compare.comparison import Change, Comparison, Row, SideInfo
from pipesight.compare.noise import Z
from pipesight.render import safe_text

MAX_ROWS = 12
# the first two of these a run has, to fit 80 columns; --json and --html have them all
_SECTIONS = [
    ("element", "Elements", ["ms_per_buffer", "thread_share_pct"]),
    ("thread", "Streaming threads", ["busy_pct", "cpu_pct"]),
    ("queue", "Queues", ["mean_fill_pct", "full_pct"]),
    ("drops", "Dropped buffers", ["dropped", "dropped_pct"]),
    ("sink", "Sinks", ["fps"]),
    ("path", "Latency, source to sink", ["latency_ms", "latency_p99_ms"]),
    ("latency", "Latency per element", ["latency_ms", "latency_p99_ms"]),
    ("gpu", "GPUs", ["gpu_busy_pct", "gpu_idle_pct", "gpu_gaps_per_s"]),
    ("nvtx", "GPU time per NVTX range", ["gpu_ms_per_frame", "gpu_ms", "gpu_share_pct"]),
]
_HEAD = {"ms_per_buffer": "ms/buffer", "p99_ms": "p99 ms", "thread_share_pct": "share %",
         "busy_pct": "busy %", "cpu_pct": "CPU %", "mean_fill_pct": "mean fill %",
         "full_pct": "full %", "empty_pct": "empty %", "dropped": "dropped",
         "dropped_pct": "dropped %", "fps": "fps", "gpu_busy_pct": "busy %",
         "gpu_idle_pct": "idle in gaps %", "gpu_gaps_per_s": "gaps/s",
         "gpu_ms_per_frame": "ms/frame", "latency_ms": "mean ms",
         "latency_p99_ms": "p99 ms", "gpu_ms": "GPU ms", "gpu_share_pct": "share %"}


def render(c: Comparison, console: Console | None = None) -> None:
    con = console or safe_text.console()
    for tag, s in (("A", c.a), ("B", c.b)):
        con.print(_side_line(tag, s))
    colour = {"faster": "green", "slower": "red", "bottleneck moved": "yellow"}.get(c.status,
                                                                                  "white")
    con.print(f"[bold {colour}]{escape(c.sentence)}[/bold {colour}]")
    con.print(f"[dim]{escape(_noise_line(c))}[/dim]")
    for section, title, metrics in _SECTIONS:
        rows = c.section(section)
        if not rows:
            continue
        shown = [m for m in metrics if any(m in r.changes for r in rows)][:2]
        con.print(_table(title, section, rows, shown))
    shape = _shape_lines(c)
    for line in shape:
        con.print(escape(line))
    if c.gate:
        con.print(escape(f"Gate: {c.gate['reason'] or c.gate.get('note') or 'passed'}"))
    for n in c.notes:
        con.print(f"[dim]Note: {escape(n)}[/dim]")


def _side_line(tag: str, s: SideInfo) -> str:
    b = s.bottleneck
    fps = "n/a" if s.throughput_fps is None else f"{s.throughput_fps:.1f} fps"
    runs = f", mean of {s.runs} runs" if s.runs else ""
    where = f" {b.get('element')}" if b.get("element") else ""
    return (f"[bold]{tag}[/bold] {escape(s.label)} [dim]({escape(s.kind)}{runs})[/dim]  "
            f"{escape(fps)}  bottleneck: {escape(str(b.get('kind')))}{escape(where)} "
            f"({escape(str(b.get('confidence')))})")


def _noise_line(c: Comparison) -> str:
    if c.noise_basis == "repeats":
        return (f"Noise measured over repeats: a change counts beyond {Z:g} standard deviations "
                "of the difference (A: " + (f"{c.a.runs} runs" if c.a.runs else "1 run")
                + ", B: " + (f"{c.b.runs} runs" if c.b.runs else "1 run") + ").")
    m = c.margins
    return (f"No repeats: default margins (throughput {m['throughput_fps']}, time per buffer "
            f"{m['ms_per_buffer']}, shares {m['busy_pct']}); `pipesight profile --repeat N` "
            "measures the noise instead.")


def _table(title: str, section: str, rows: list[Row], metrics: list[str]) -> Table:
    t = Table(title=title, title_justify="left", title_style="bold", box=None,
              pad_edge=False, show_header=True, header_style="bold")
    t.add_column("device" if section == "gpu" else "A (→ B)", overflow="fold")
    for m in metrics:
        t.add_column(f"{_HEAD.get(m, m)} A → B", justify="right", no_wrap=True)
        t.add_column("Δ", justify="right", no_wrap=True)
    ordered = sorted(rows, key=lambda r: not r.significant)[:MAX_ROWS]
    for r in ordered:
        cells = [escape(_names(r))]
        for m in metrics:
            ch = r.changes.get(m)
            cells += _cells(ch)
        t.add_row(*cells)
    if len(rows) > MAX_ROWS:
        t.caption = f"… {len(rows) - MAX_ROWS} more rows in --json"
    return t


def _names(r: Row) -> str:
    if r.a is None:
        return f"(only in B) {r.b}"
    if r.b is None:
        return f"{r.a} (only in A)"
    name = r.a if r.b == r.a else f"{r.a} → {r.b}"
    if r.type_a and r.type_b and r.type_a != r.type_b:
        name += f" ({r.type_a} → {r.type_b})"
    return name


def _cells(ch: Change | None) -> list[str]:
    if ch is None:
        return ["", ""]
    text = f"{_num(ch.a)} → {_num(ch.b)}"
    pct = ch.delta_pct
    delta = "" if ch.delta is None else (f"{pct:+.0f}%" if pct is not None and ch.spec.rel
                                         else f"{ch.delta:+.3g}")
    if ch.significant:
        style = {True: "green", False: "red"}.get(ch.better, "yellow")  # type: ignore[arg-type]
        return [f"[{style}]{escape(text)}[/{style}]", f"[bold {style}]{escape(delta)}[/]"]
    return [escape(text), f"[dim]{escape(delta)}[/dim]"]


def _num(x: float | None) -> str:
    if x is None:
        return "-"
    ax = abs(x)
    if ax >= 100:
        return f"{x:.0f}"
    if ax >= 10:
        return f"{x:.1f}"
    return f"{x:.3g}"


def _shape_lines(c: Comparison) -> list[str]:
    m = c.matching
    out = []
    if m.only_a:
        out.append("Only in A: " + ", ".join(m.only_a))
    if m.only_b:
        out.append("Only in B: " + ", ".join(m.only_b))
    renamed = [f"{p.a} → {p.b} (by {p.how})" for p in m.pairs if p.renamed]
    if renamed:
        out.append("Paired although renamed: " + ", ".join(renamed))
    replaced = [f"{p.a}: {p.type_a} → {p.type_b}" for p in m.pairs if p.replaced]
    if replaced:
        out.append("Replaced in place: " + ", ".join(replaced))
    return out
