"""How far the pipeline is from the model alone (``--ceiling``), or why that cannot be said."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding


def analyze(ctx: Context) -> list[Finding]:
    c = ctx.metrics.ceiling
    if c is None:
        return []
    ce = c.ceiling
    ev = [Evidence("ceiling_fps", round(ce.fps, 2), "fps", "ceiling")]
    if not c.accepted:
        return [Finding(
            code="ceiling-refused",
            title=(f"The model ceiling given ({ce.fps:.1f} fps, {ce.source}) was measured "
                   f"differently from what the pipeline runs: {'; '.join(c.refused_because)}; "
                   "it is not compared"),
            severity="warning", subject=ce.source, evidence=ev,
            fix="Time the model alone at the pipeline's batch, precision and input size "
                "(pipesight bench-model --batch N --precision P, or trtexec with the same "
                "shapes) and pass that.")]
    if c.headroom is None:
        return []
    fps = ctx.fps() or 0.0
    ev += [Evidence("throughput_fps", round(fps, 2), "fps", "tracer"),
           Evidence("share_of_ceiling_pct", round(100 * c.headroom, 1), "%", "ceiling")]
    extra = ""
    if c.unchecked:
        extra += f"; not checked: {', '.join(c.unchecked)}"
    if ce.leaves_out:
        extra += f"; the ceiling leaves out {', '.join(ce.leaves_out)}"
    return [Finding(
        code="model-ceiling",
        title=(f"The pipeline runs at {100 * c.headroom:.1f}% of the model alone "
               f"({fps:.1f} of {ce.fps:.1f} fps, {ce.source}){extra}"),
        severity="info", subject=ce.source, evidence=ev)]
