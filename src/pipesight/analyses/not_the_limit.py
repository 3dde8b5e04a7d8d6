"""The costliest element that is not the limit: speeding it up buys nothing (yet)."""

from __future__ import annotations

from pipesight.analyses.context import SUSPECT, Context
from pipesight.findings import Evidence, Finding


def analyze(ctx: Context, bottleneck_element: str | None) -> list[Finding]:
    act = ctx.metrics.activity
    if act is None or act.basis != "exact":
        return []
    best = None
    for (e, t), v in act.per.items():
        if v.role in ("enqueue", "loop"):
            continue
        if best is None or v.cpu_ns > best[2].cpu_ns:
            best = (e, t, v)
    if best is None:
        return []
    e, t, v = best
    name = ctx.name(e)
    tt = act.threads.get(t)
    if name == bottleneck_element or tt is None or tt.busy_fraction >= SUSPECT:
        return []
    W = ctx.window_ns()
    if v.cpu_ns / W < 0.2:
        return []
    return [Finding(
        code="heavy-not-limit",
        title=(f"{name} is the costliest element ({v.cpu_ns / max(v.buffers, 1) / 1e6:.2f} ms CPU "
               f"per buffer) but not the limit: its thread {ctx.thread_name(t)} is busy only "
               f"{100 * tt.busy_fraction:.0f}% of the time"),
        severity="info",
        subject=name,
        evidence=[
            Evidence("element_cpu_share_of_window_pct", round(100 * v.cpu_ns / W, 1), "%",
                     "tracer"),
            Evidence("thread_busy_pct", round(100 * tt.busy_fraction, 1), "%", "tracer"),
        ],
        fix=f"Making {name} faster will not raise throughput until the limit moves to it.",
        confidence="confirmed",
    )]
