"""Where latency accumulates (latency tracer)."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding


def analyze(ctx: Context) -> list[Finding]:
    # a queue's element latency is time spent waiting in it, not work
    handover = {q.name for q in ctx.metrics.queues.values()}
    el = [s for s in ctx.metrics.element_latency if s.count > 0 and s.name not in handover]
    if not el:
        return []
    worst = max(el, key=lambda s: s.mean_ns)
    total = max((s.mean_ns for s in ctx.metrics.pipeline_latency), default=0)
    ev = [
        Evidence("element_latency_mean_ms", round(worst.mean_ns / 1e6, 3), "ms", "latency"),
        Evidence("element_latency_p99_ms", round(worst.p99_ns / 1e6, 3), "ms", "latency"),
        Evidence("samples", worst.count, "buffers", "latency"),
    ]
    share = None
    if total > 0:
        share = worst.mean_ns / total
        ev.append(Evidence("pipeline_latency_mean_ms", round(total / 1e6, 3), "ms", "latency"))
        ev.append(Evidence("share_of_pipeline_latency_pct", round(100 * share, 1), "%",
                           "latency"))
    others = sorted(el, key=lambda s: -s.mean_ns)[1:2]
    if share is not None and share < 0.3:
        return []
    title = (f"{worst.name} holds most of the latency: {worst.mean_ns / 1e6:.1f} ms per buffer "
             f"on average" + (f", {100 * share:.0f}% of the {total / 1e6:.1f} ms from source to "
                               "sink" if share is not None else ""))
    if others:
        title += f" (next: {others[0].name} {others[0].mean_ns / 1e6:.1f} ms)"
    return [Finding(
        code="latency-dominant-element",
        title=title,
        severity="warning",
        subject=worst.name,
        evidence=ev,
        fix=("Element latency is the time from a buffer entering the element to it leaving; it "
             "equals processing time only for one-in/one-out elements working on one thread. For "
             "decoders it includes frames held for reordering and threading."),
        confidence="suspected",
    )]
