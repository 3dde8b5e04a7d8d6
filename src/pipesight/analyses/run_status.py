"""Whether the profiled command itself failed (crashed, exited non-zero, or hung), and whether
it ran without pipesight's tracer (element times then are estimates)."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding


def analyze(ctx: Context) -> list[Finding]:
    return [*_failed(ctx), *_tracer_fallback(ctx)]


def _tracer_fallback(ctx: Context) -> list[Finding]:
    why = ctx.trace.run.get("tracer_fallback")
    if not why:
        return []
    return [Finding(
        code="tracer-fallback",
        title="Profiled without pipesight's tracer: element times are estimates from "
              "GStreamer's stats tracer",
        severity="warning",
        subject=None,
        evidence=[Evidence("tracer_fallback", str(why)[:300], "", "manifest"),
                  Evidence("tracers", ";".join(map(str, ctx.trace.run.get("tracers") or [])),
                           "", "manifest")],
        fix="Install gcc and libgstreamer1.0-dev on this machine (or a prebuilt tracer for its "
            "GStreamer: docs/platforms.md) and profile again for exact per-element times.",
        confidence="confirmed",
    )]


def _failed(ctx: Context) -> list[Finding]:
    run = ctx.trace.run
    if not run.get("failed"):
        return []
    tail = [ln for ln in ctx.trace.extras.get("stderr_tail", []) if ln.strip()][-4:]
    ev = [
        Evidence("exit_code", run.get("exit_code"), "", "manifest"),
        Evidence("ended_by", run.get("ended_by"), "", "manifest"),
    ]
    if run.get("signal"):
        ev.append(Evidence("signal", run.get("signal"), "", "manifest"))
    for ln in tail:
        ev.append(Evidence("stderr", ln[:300], "", "stderr"))
    moved = int(ctx.trace.flow.count.sum()) if ctx.trace.has_flow else 0
    return [Finding(
        code="target-failed",
        title=f"The profiled command failed: {run.get('failure')}"
              + (f"; {moved} buffers had moved before that" if moved else
                 "; no buffer moved through the pipeline"),
        severity="critical",
        subject=" ".join(run.get("command", [])[:2]) or None,
        evidence=ev,
        fix="`pipesight doctor RUN_DIR` explains failures from the captured logs.",
        confidence="confirmed",
    )]
