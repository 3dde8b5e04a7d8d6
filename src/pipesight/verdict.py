"""The verdict: ranks the findings and names THE bottleneck with a confidence."""

from __future__ import annotations

import numpy as np

from pipesight.analyses import CANDIDATES, OBSERVATIONS, Context, gpu, heavy
from pipesight.analyses.sampled import samples_coverage, samples_only_summary
from pipesight.findings import Bottleneck, ElementRow, Finding, Verdict
from pipesight.metrics import Metrics
from pipesight.metrics.window import MIN_STEADY_S
from pipesight.model import Trace
from pipesight.verdict_gpu import gpu_rows

# measured by bench/instrumentation_cost.py (docs/benchmarks.md): CPU time the pipesight tracer
# adds per pad push (entry and return records), on the development machine
TRACER_COST_NS_PER_CALL = 1_100

_KIND_ORDER = {"cpu": 0, "gpu": 1, "gpu-starved": 1, "element": 2, "sink-sync": 2, "source": 2,
               "live-source": 3}
_KIND_ORDER["hw-engine"] = 1


def _rank(f: Finding) -> tuple:
    return (
        0 if f.confidence == "confirmed" else 1,
        {"critical": 0, "warning": 1, "info": 2}[f.severity],
        _KIND_ORDER.get(f.kind or "", 9),
        -_busy(f),
    )


def _busy(f: Finding) -> float:
    for e in f.evidence:
        if e.metric == "thread_busy_pct" and isinstance(e.value, int | float):
            return float(e.value)
    return 0.0


def build_verdict(trace: Trace, metrics: Metrics) -> Verdict:
    ctx = Context(trace, metrics)
    candidates: list[Finding] = []
    observations: list[Finding] = []
    for a in CANDIDATES:
        for f in a(ctx):
            (candidates if f.kind else observations).append(f)
    candidates.sort(key=_rank)
    for a in OBSERVATIONS:
        observations.extend(a(ctx))
    if candidates:
        top = candidates[0]
        bottleneck = Bottleneck(
            kind=top.kind or "unknown",
            element=top.element,
            thread=top.thread,
            confidence=top.confidence,
            summary=top.title,
            predicted_fps=top.predicted_fps,
        )
    else:
        bottleneck = _unknown(ctx)
    observations.extend(heavy.analyze(ctx, bottleneck.element))
    findings = candidates + observations
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
        sinks=[{"element": s.name, "frames": s.frames, "fps": round(s.fps, 3), "media": s.media,
                "buffers": s.buffers, "unit": s.unit} for s in metrics.sinks],
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
    w = ctx.metrics.window
    if w is not None and w.seconds < MIN_STEADY_S:
        why = (f"The run's steady state lasted only {w.seconds:.2f} s: too short to tell a "
               "bottleneck. Run longer (--duration) or on more data.")
    elif busiest is not None:
        why = (f"No streaming thread is saturated (the busiest, {ctx.thread_name(busiest.thread)},"
               f" is busy {100 * busiest.busy_fraction:.0f}% of the time)"
               + ("; with stats-tracer timing only, shares are estimates" if act.basis ==
                  "estimated" else "")
               + ". The limit may be outside what was traced: a GPU or hardware engine (profile "
               "with --nsys), storage or network, or an element's own worker threads.")
    else:
        why = "No streaming thread activity was recorded inside the window."
    return Bottleneck("unknown", None, None, "none", why)


def element_rows(ctx: Context) -> list[ElementRow]:
    tr, m = ctx.trace, ctx.metrics
    act, w = m.activity, m.window
    if w is None:
        return []
    fl = tr.flow
    inw = w.contains(fl.ts)
    secs = max(w.seconds, 1e-9)
    ids = set(np.unique(fl.src_element[inw]).tolist())
    ids |= set(np.unique(fl.dst_element[inw]).tolist())
    if act is not None:  # pad probes move no buffers of their own
        ids |= {e for (e, _) in act.per if tr.topology.is_probe(e)}
    ids.discard(-1)
    rows = []
    W = ctx.window_ns()
    for eid in ids:
        e = tr.topology.element(eid)
        if e is not None and e.is_bin:
            continue
        if e is not None and e.probe_of is not None and act is not None:
            # the probes ran once per buffer that reached them (a probe upstream may drop)
            n_in = n_out = sum(v.calls for (pe, _), v in act.per.items() if pe == eid)
        else:
            n_in = int(fl.count[inw & (fl.dst_element == eid)].sum())
            n_out = int(fl.count[inw & (fl.src_element == eid)].sum())
        t = act.main_thread(eid) if act else None
        share = None
        if act is not None and t is not None and (eid, t) in act.per:
            v = act.per[(eid, t)]
            share = round((v.wall_ns - v.wait_ns) / W, 4)
        samp = act.samples.get(eid) if act else None
        csamp = act.cpu_samples.get(eid) if act else None
        boundary = act is not None and eid in act.boundary
        have = samp is not None and samp.shape[0] > 0 and not boundary
        rows.append(ElementRow(
            name=e.name if e else f"element{eid}",
            type=(e.factory or e.type) if e else None,
            thread=ctx.thread_name(t),
            buffers_in=n_in,
            buffers_out=n_out,
            fps=round((n_out or n_in) / secs, 3),
            mean_process_ms=round(float(np.mean(samp)) / 1e6, 4) if have else None,
            p50_process_ms=round(float(np.percentile(samp, 50)) / 1e6, 4) if have else None,
            p99_process_ms=round(float(np.percentile(samp, 99)) / 1e6, 4) if have else None,
            mean_cpu_ms=(round(float(np.nanmean(csamp)) / 1e6, 4)
                         if have and csamp is not None and not np.isnan(csamp).all() else None),
            thread_share=share,
            process_time_basis=("queue" if boundary else act.basis) if act else "none",
        ))
    rows.sort(key=lambda r: -(r.thread_share or 0))
    return rows


def thread_rows(ctx: Context) -> list[dict]:
    act = ctx.metrics.activity
    if act is None:
        return []
    W = ctx.window_ns()
    out = []
    for t, tt in sorted(act.threads.items(), key=lambda kv: -kv[1].busy_fraction):
        top = ctx.on_thread(t)
        th = ctx.trace.threads[t]
        pc = ctx.proc_cpu(t)
        tid = th.os_tid
        pw = None
        if ctx.metrics.cpu and tid in ctx.metrics.cpu.threads:
            pw = ctx.metrics.cpu.threads[tid].wait_fraction
        out.append({
            "thread": th.name or th.label(),
            "os_tid": tid,
            "owner": ctx.name(th.owner) if th.owner is not None else None,
            "busy_pct": round(100 * tt.busy_fraction, 1),
            "queue_wait_pct": round(100 * tt.wait_ns / W, 1),
            "cpu_pct": round(100 * tt.cpu_ns / W, 1) if act.basis == "exact" else None,
            "proc_cpu_pct": None if pc is None else round(100 * pc, 1),
            "proc_run_queue_wait_pct": None if pw is None else round(100 * pw, 1),
            "top_element": ctx.name(top[0].element) if top else None,
        })
    return out


def pad_rows(trace: Trace, m: Metrics) -> list[dict]:
    """Frames per second through every pad that moved buffers in the window."""
    w = m.window
    if w is None or w.seconds < 0.05:
        return []
    fl = trace.flow
    inw = w.contains(fl.ts)
    if not inw.any():
        return []
    pads, inv = np.unique(fl.pad[inw], return_inverse=True)
    frames = np.bincount(inv, weights=fl.count[inw])
    rows = [{"pad": trace.topology.pad_label(int(p)), "frames": int(n),
             "fps": round(float(n) / w.seconds, 3)} for p, n in zip(pads, frames, strict=True)]
    rows.sort(key=lambda r: r["pad"])
    return rows


def queue_rows(ctx: Context) -> list[dict]:
    out = []
    for q in ctx.metrics.queues.values():
        out.append({
            "element": q.name,
            "limits": q.limits,
            "mean_level_buffers": round(q.mean_level_buffers, 2),
            "max_level_buffers": q.max_level_buffers,
            "mean_fill": None if q.mean_fill is None else round(q.mean_fill, 4),
            "full_pct": None if q.full_fraction is None else round(100 * q.full_fraction, 1),
            "empty_pct": round(100 * q.empty_fraction, 1),
            "buffers_in": q.buffers_in,
            "buffers_out": q.buffers_out,
            "dropped": q.dropped,
            "leaky": q.leaky,
        })
    return out


def latency_summary(m: Metrics) -> dict:
    def rows(stats):
        return [{"key": s.key, "name": s.name, "count": s.count,
                 "mean_ms": round(s.mean_ns / 1e6, 4), "min_ms": round(s.min_ns / 1e6, 4),
                 "max_ms": round(s.max_ns / 1e6, 4), "p99_ms": round(s.p99_ns / 1e6, 4)}
                for s in stats]
    return {"pipeline": rows(m.pipeline_latency), "elements": rows(m.element_latency)}


def instrumentation_cost(ctx: Context) -> dict:
    fr = ctx.trace.frames
    w = ctx.metrics.window
    if fr is None or w is None or len(fr) == 0 or w.seconds < 0.05:
        return {"tracer": "none" if fr is None else "pipesight"}
    inw = w.contains(fr.start)
    calls = np.bincount(fr.thread[inw], minlength=len(ctx.trace.threads))
    W = ctx.window_ns()
    worst = int(calls.argmax()) if calls.size else 0
    return {
        "tracer": "pipesight",
        "calls_per_s_busiest_thread": round(float(calls.max(initial=0)) / (W / 1e9), 1),
        "busiest_thread": ctx.thread_name(worst),
        "estimated_overhead_pct": round(100 * float(calls.max(initial=0)) *
                                        TRACER_COST_NS_PER_CALL / W, 2),
        "cost_ns_per_call": TRACER_COST_NS_PER_CALL,
    }


def coverage(trace: Trace, m: Metrics) -> tuple[list[str], list[str]]:
    seen, missing = [], []
    if trace.has_flow:
        seen.append(f"buffer flow: {int(trace.flow.count.sum())} buffers on "
                    f"{len(np.unique(trace.flow.pad))} pads")
    else:
        missing.append("buffer flow (no stats or pipesight tracer records)")
    if trace.has_frames:
        seen.append("entry and return of every pad push with thread CPU clocks "
                    "(exact time per element)")
    elif trace.has_flow:
        missing.append("entry/return timing: element times are estimated from push intervals")
    if trace.latency:
        seen.append("latency tracer records")
    else:
        missing.append("latency tracer records (profile --latency)")
    if m.cpu is not None:
        seen.append(f"/proc CPU samples of {len(m.cpu.threads)} threads")
    else:
        missing.append("kernel CPU accounting per thread (/proc samples)")
    seen.extend(samples_coverage(trace))
    if trace.messages:
        seen.append(f"{len(trace.messages)} bus messages (errors, warnings, QoS)")
    if m.gpu is not None:
        seen.append(f"GPU timeline (Nsight Systems): {len(m.gpu.devices)} device(s)")
    elif trace.gpu is None:
        missing.append("GPU activity (profile with --nsys)")
    return seen, missing
