"""Frames lost on purpose: leaky queues."""

from __future__ import annotations

from pipesight.analyses import knob_advice
from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding


def analyze(ctx: Context) -> list[Finding]:
    out = []
    for q in ctx.metrics.queues.values():
        if q.dropped <= 0:
            continue
        out.append(Finding(
            code="leaky-queue-drops",
            title=(f"{q.name} (leaky={q.leaky}) dropped {q.dropped} of {q.buffers_in} buffers: "
                   "the elements after it are slower than those before it"),
            severity="warning",
            subject=q.name,
            evidence=[
                Evidence("buffers_in", q.buffers_in, "buffers", "queue-flow"),
                Evidence("buffers_out", q.buffers_out, "buffers", "queue-flow"),
                Evidence("dropped", q.dropped, "buffers", "queue-flow"),
            ],
            fix=" ".join(x for x in (
                "Drops hide the bottleneck: it lies downstream of this queue.",
                knob_advice.words(ctx, q.element, "max-size-buffers")) if x),
            confidence="confirmed",
        ))
    return out
