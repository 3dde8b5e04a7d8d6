"""One screen: throughput, the bottleneck in a sentence, its evidence, the costliest elements,
and what the instrumentation itself cost."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipesight.findings import Fix, Verdict
from pipesight.render import safe_text

MAX_ELEMENTS = 10
MAX_FINDINGS = 5


def render(v: Verdict, console: Console | None = None) -> None:
    c = console or safe_text.console()
    fps = "n/a" if v.throughput_fps is None else f"{v.throughput_fps:.1f} {rate_unit(v)}"
    if v.audio and v.throughput_fps is not None:
        a = v.audio
        fps = (f"{a['realtime_factor']:.3g}x real time ({a['samples_per_s'] / 1e3:.1f} k "
               f"samples/s at {a['rate_hz'] / 1e3:g} kHz; {fps})")
    win = ""
    if v.window_start_s is not None and v.window_end_s is not None:
        win = f"  (window {v.window_start_s:.2f}–{v.window_end_s:.2f} s)"
    c.print(f"[bold]Throughput[/bold] {escape(fps)}{escape(win)}")
    b = v.bottleneck
    colour = {"confirmed": "red", "suspected": "yellow"}.get(b.confidence, "white")
    where = f" {escape(b.element)}" if b.element else ""
    c.print(f"[bold {colour}]Bottleneck: {escape(b.kind)}{where} ({escape(b.confidence)})"
            f"[/bold {colour}]")
    c.print(escape(b.summary))
    top = next((f for f in v.findings if f.stance == "verdict"), None)
    if top is not None:
        ev = ", ".join(f"{e.metric}={e.value}{e.unit if e.unit in ('%', '') else ' ' + e.unit}"
                       f" [{e.source}]" for e in top.evidence[:8])
        c.print(f"[dim]Evidence: {escape(ev)}[/dim]")
    for x in b.fixes:
        c.print(f"Fix: {escape(x.text)}" + _prediction(x, rate_unit(v)))
    h = b.headroom
    if h and h.get("capacity_fps"):
        more = (f"; about {h['more_streams']} more such pipelines would fit on the "
                f"{h['cores']:.1f} usable cores (CPU only)"
                if h.get("more_streams") is not None else "")
        c.print(f"[green]Headroom: capacity about {h['capacity_fps']:.1f} fps, {h['ratio']:g}x "
                f"the source's {h['source_fps']:g} fps{escape(more)}[/green]")
    if v.elements:
        t = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        for col in ("element", "thread", "share", "ms/buf", "p99 ms", "cpu ms", "fps"):
            t.add_column(col, justify="left" if col in ("element", "thread") else "right")
        for r in v.elements[:MAX_ELEMENTS]:
            t.add_row(
                escape(r.name),
                escape(r.thread or "-"),
                "-" if r.thread_share is None else f"{100 * r.thread_share:.0f}%",
                _ms(r.mean_process_ms),
                _ms(r.p99_process_ms),
                _ms(r.mean_cpu_ms),
                "-" if r.fps is None else f"{r.fps:.1f}",
            )
        c.print(t)
        if len(v.elements) > MAX_ELEMENTS:
            c.print(f"[dim]… {len(v.elements) - MAX_ELEMENTS} more in verdict.json[/dim]")
        for r in v.elements:
            if r.worker_threads:
                c.print(escape(f"{r.name} started {r.worker_threads} worker thread"
                               f"{'s' if r.worker_threads > 1 else ''} of its own, using "
                               f"{r.worker_cpu_pct:g}% of a core (charged to it; threads "
                               "table in verdict.json)"))
    for gp in v.gpus:
        every = (f", every {gp['gap_spacing_ms']:.1f} ms" if gp.get("gap_spacing_ms") else "")
        c.print(escape(f"GPU {gp['device']}{' (' + gp['name'] + ')' if gp.get('name') else ''}: "
                       f"busy {100 * gp['busy_fraction']:.1f}% of {gp['span_ms']:.0f} ms, "
                       f"{gp['idle_gaps']} idle gaps of {gp['gap_threshold_ms']:g} ms or more "
                       f"({gp['idle_ms']:.0f} ms{every})"))
    others = [f for f in v.findings if f.stance != "verdict"][:MAX_FINDINGS]
    for f in others:
        mark = {"critical": "!", "warning": "~", "info": "·"}[f.severity]
        tag = f"[{f.stance}] " if f.stance else ""
        c.print(f"{mark} {escape(tag + f.title)}")
    inst = v.instrumentation
    if inst.get("estimated_overhead_pct") is not None:
        c.print(f"[dim]Instrumentation: ~{inst['estimated_overhead_pct']}% of the busiest thread "
                f"({inst['calls_per_s_busiest_thread']} traced calls/s)[/dim]")
    if v.not_seen:
        c.print(f"[dim]Not seen: {escape('; '.join(v.not_seen))}[/dim]")
    if isinstance(v.run.get("repeat"), dict):
        _repeats(c, v.run["repeat"], rate_unit(v))


def _repeats(c: Console, r: dict, unit: str) -> None:
    """`profile --repeat`: the spread, and each run beside the one that speaks for all."""
    same = ("the same each time" if r.get("stable_verdict")
            else "varied: " + ", ".join(r.get("bottlenecks", [])))
    c.print(escape(f"Over {r['n']} runs: {r['mean_fps']:.1f} ± {r['stdev_fps']:.1f} {unit} "
                   f"(median {r.get('median_fps', r['mean_fps']):.1f}, min {r['min_fps']:.1f}, "
                   f"max {r['max_fps']:.1f}); verdict {same}"))
    for d, fps, b in zip(r.get("runs", []), r["throughput_fps"], r["bottlenecks"], strict=False):
        mark = "  (nearest the median: the verdict above)" if d == r.get("representative") \
            else ""
        c.print(escape(f"  {d}: {fps:.1f} {unit}, {b.replace(':None', '').replace(':', ' ')}"
                       f"{mark}"))
    for s in r.get("skipped", []):
        c.print(escape(f"  skipped {s}"))


def rate_unit(v: Verdict) -> str:
    """What the throughput counts: frames, or buffers (audio, batches of unknown size)."""
    return "buffers/s" if v.throughput_unit == "buffers" else "fps"


def _prediction(x: Fix, unit: str) -> str:
    if x.predicted_fps is None:
        return f" [dim]({escape(x.basis)})[/dim]" if x.basis else ""
    word = "at most" if x.bound == "upper" else "predicted"
    return (f" [green]→ {word} {x.predicted_fps:.1f} {unit}[/green]"
            + (f" [dim]({escape(x.basis)})[/dim]" if x.basis else ""))


def _ms(x: float | None) -> str:
    if x is None:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"
