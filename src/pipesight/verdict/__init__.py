"""The verdict: gathers the findings, has them ranked and settled (verdict/settle.py) and
names THE bottleneck with a confidence, beside the tables of verdict.json."""

from __future__ import annotations

from pipesight.analyses import CANDIDATES, OBSERVATIONS, Context, gpu, not_the_limit
from pipesight.analyses.sampled import samples_only_summary
from pipesight.findings import Bottleneck, Finding, Verdict
from pipesight.metrics import Metrics
from pipesight.metrics.gpu_rows import gpu_rows
from pipesight.metrics.media import AudioRate
from pipesight.metrics.tables import (
    coverage,
    element_rows,
    instrumentation_cost,
    latency_summary,
    pad_rows,
    queue_rows,
    thread_rows,
)
from pipesight.metrics.throughput import Rate
from pipesight.trace import Trace
from pipesight.verdict.settle import settle


def build_verdict(trace: Trace, metrics: Metrics) -> Verdict:
    ctx = Context(trace, metrics)
    candidates: list[Finding] = []
    observations: list[Finding] = []
    for a in CANDIDATES:
        for f in a(ctx):
            (candidates if f.kind else observations).append(f)
    for a in OBSERVATIONS:
        observations.extend(a(ctx))
    settled = settle(ctx, candidates, observations)
    bottleneck = settled.bottleneck or _unknown(ctx)
    observations.extend(not_the_limit.analyze(ctx, bottleneck.element))
    findings = settled.candidates + observations
    w = metrics.window
    origin = _origin(trace)
    seen, not_seen = coverage(trace, metrics)
    return Verdict(
        throughput_fps=metrics.throughput_fps,
        window_start_s=None if w is None else (w.start - origin) / 1e9,
        window_end_s=None if w is None else (w.end - origin) / 1e9,
        bottleneck=bottleneck,
        findings=findings,
        elements=element_rows(ctx),
        threads=thread_rows(ctx),
        queues=queue_rows(ctx),
        sinks=[sink_row(s) for s in metrics.sinks],
        audio=audio_row(metrics.audio),
        sources=[{"element": s.name, "frames": s.frames, "fps": round(s.fps, 3),
                  "media": s.media} for s in metrics.sources],
        pads=pad_rows(trace, metrics),
        latency=latency_summary(metrics),
        gpus=gpu_rows(metrics),
        inputs=list(trace.inputs),
        seen=seen,
        not_seen=not_seen,
        instrumentation=instrumentation_cost(ctx),
        run=dict(trace.run),
        clocks={"gpu": trace.gpu_clock.to_dict()} if trace.gpu_clock is not None else {},
        throughput_unit=metrics.throughput_unit,
        batching=[{"element": b.name, "frames_in": b.frames_in, "buffers_out": b.batches_out,
                   "frames_per_buffer": None if b.frames_per_buffer is None else
                   round(b.frames_per_buffer, 3), "sink_pads": b.sink_pads,
                   "batch_size_property": b.batch_size} for b in metrics.batchers],
        ceiling=ceiling_row(metrics),
        headroom=metrics.ceiling.headroom if metrics.ceiling else None,
        callbacks=[{"name": u.name, "thread": ctx.thread_name(u.thread),
                    "inside": ctx.name(u.element) if u.element >= 0 else None,
                    "calls": u.calls, "mean_ms": round(u.wall_ns / max(u.calls, 1) / 1e6, 4),
                    "cpu_ms": round(u.cpu_ns / max(u.calls, 1) / 1e6, 4),
                    "share_of_window_pct": round(100 * u.wall_ns / ctx.window_ns(), 2)}
                   for u in metrics.callbacks[:20]],
    )


def sink_row(s: Rate) -> dict:
    row = {"element": s.name, "frames": s.frames, "fps": round(s.fps, 3), "media": s.media,
           "buffers": s.buffers, "unit": s.unit}
    if s.counted_at is not None:
        row.update(counted_at=s.counted_at, sink_buffers=s.sink_buffers)
    if s.audio is not None:
        row["audio"] = audio_row(s.audio)
    return row


def audio_row(a: AudioRate | None) -> dict | None:
    if a is None:
        return None
    return {"rate_hz": a.rate_hz, "samples_per_s": round(a.samples_per_s, 1),
            "realtime_factor": round(a.realtime_factor, 4), "basis": a.basis}


def ceiling_row(m: Metrics) -> dict | None:
    c = m.ceiling
    if c is None:
        return None
    pm = c.pipeline
    return {**c.ceiling.to_dict(), "accepted": c.accepted, "refused_because": c.refused_because,
            "unchecked": c.unchecked,
            "pipeline": {"batch": pm.batch, "batch_from": pm.batch_from,
                         "precision": pm.precision, "precision_from": pm.precision_from,
                         "input_size": list(pm.input_size) if pm.input_size else None,
                         "size_from": pm.size_from}}


def _origin(trace: Trace) -> int:
    if trace.run_start_ts is not None:
        return trace.run_start_ts
    if len(trace.flow):
        return int(trace.flow.ts.min())
    return 0


def _unknown(ctx: Context) -> Bottleneck:
    act = ctx.metrics.activity
    tr = ctx.trace
    gpu_why = gpu.why_unknown(ctx)
    if gpu_why is not None:
        return Bottleneck("unknown", None, None, "none", gpu_why)
    if not tr.has_flow and tr.samples is not None and len(tr.samples) and not tr.latency:
        return Bottleneck("unknown", None, None, "none", samples_only_summary(tr))
    if not tr.has_flow:
        if tr.latency:
            why = ("The input holds latency records only: it shows where latency accumulates, "
                   "but not buffer flow or thread time, so what limits throughput cannot be told. "
                   "Record with `pipesight profile` (or GST_TRACERS=stats) for that.")
        else:
            why = ("No buffer moved through the pipeline in what was recorded, so nothing limits "
                   "throughput yet (did it fail to start? see the findings).")
        return Bottleneck("unknown", None, None, "none", why)
    if act is None or act.basis == "none":
        return Bottleneck("unknown", None, None, "none", "No timing of the streaming threads "
                          "was recorded.")
    busiest = max(act.threads.values(), key=lambda t: t.busy_fraction, default=None)
    if busiest is not None:
        why = (f"No streaming thread is saturated (the busiest, {ctx.thread_name(busiest.thread)},"
               f" is busy {100 * busiest.busy_fraction:.0f}% of the time)"
               + ("; with stats-tracer timing only, shares are estimates" if act.basis ==
                  "estimated" else "")
               + ". The limit may be outside what was traced: a GPU or hardware engine (profile "
               "with --nsys), storage or network, or an element's own worker threads.")
    else:
        why = "No streaming thread activity was recorded inside the window."
    return Bottleneck("unknown", None, None, "none", why)
