"""Whether the analysed window holds enough to name a bottleneck: long enough in seconds, and
enough buffers where the pipeline's rate is counted (metrics/window.py's minimums). Below
them every share is a handful of buffers and a start-up transient; the verdict says so and
how to get a longer window, and names no stage (verdict/settle.py)."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding
from pipesight.metrics.window import MIN_BUFFERS, MIN_STEADY_S

CODE = "window-too-short"


def analyze(ctx: Context) -> list[Finding]:
    size, w = ctx.metrics.window_size, ctx.metrics.window
    if size is None or w is None or not size.too_short:
        return []
    ev = [Evidence("window_s", round(size.seconds, 4), "s", "tracer"),
          Evidence("buffers_counted", size.buffers, "buffers", "tracer"),
          Evidence("min_window_s", MIN_STEADY_S, "s", "pipesight"),
          Evidence("min_buffers", MIN_BUFFERS, "buffers", "pipesight")]
    if w.delay_s:
        ev.append(Evidence("delay_s", w.delay_s, "s", "manifest"))
    return [Finding(
        code=CODE,
        title=(f"The analysed window is too short to name a bottleneck: {size.shortfall()}; "
               f"a verdict needs at least {MIN_STEADY_S:g} s and {MIN_BUFFERS} buffers where "
               "the rate is counted"),
        severity="critical", subject=None, evidence=ev, fix=_longer(ctx),
        confidence="confirmed",
    )]


def _longer(ctx: Context) -> str:
    """How to get a longer window, from how the run went."""
    run = ctx.trace.run
    w = ctx.metrics.window
    ways = []
    if w is not None and w.delay_s:
        ways.append(f"a smaller --delay (it left out the first {w.delay_s:g} s)")
    ended = str(run.get("ended_by") or "")
    if ended.startswith("stopped at --duration"):
        ways.append("a longer --duration")
    elif ended.startswith("interrupted"):
        ways.append("letting it run longer before stopping it")
    elif run:
        ways.append("more input: a longer file, a larger num-buffers on a test source, or a "
                    "looping source stopped with --duration")
    else:  # a log recorded elsewhere
        ways.append("a longer recording of the pipeline")
    return "Profile a longer run: " + "; or ".join(ways) + "."
