"""The tables of verdict.json: elements, threads, queues, pads, latency, instrumentation, and
what the inputs held. Numbers only; the judging is in analyses/ and verdict/"""

from __future__ import annotations

import numpy as np

from pipesight.findings import ElementRow
from pipesight.metrics import Metrics
from pipesight.metrics.lookup import Lookup
from pipesight.metrics.pads import element_counts, pad_stats
from pipesight.metrics.samples import samples_coverage
from pipesight.trace import Trace

# measured by bench/instrumentation_cost.py (docs/benchmarks.md): CPU time the pipesight tracer
# adds per pad push (entry and return records), on the development machine
TRACER_COST_NS_PER_CALL = 1_100
OTHER_THREAD_CPU = 0.02  # of a core: a thread outside the pipeline's worth listing


def element_rows(ctx: Lookup) -> list[ElementRow]:
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
    row_ids: list[int] = []
    W = ctx.window_ns()
    for eid in sorted(ids):
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
        boundary = act is not None and eid in act.boundary
        share = None
        if act is not None and t is not None and (eid, t) in act.per:
            v = act.per[(eid, t)]
            # a hand-over's (a queue's, a muxer's) time off the CPU is handing over, woken
            # threads taking the core: its share is its CPU, never a busy element's
            share = round((v.cpu_ns if boundary else v.wall_ns - v.wait_ns) / W, 4)
        samp = act.samples.get(eid) if act else None
        csamp = act.cpu_samples.get(eid) if act else None
        have = samp is not None and samp.shape[0] > 0 and not boundary
        row_ids.append(eid)
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
    totals = element_counts(tr)
    for eid in sorted(set(totals) - set(row_ids)):  # moved buffers outside the window only
        e = tr.topology.element(eid)
        if e is not None and e.is_bin:
            continue
        row_ids.append(eid)
        rows.append(ElementRow(name=e.name if e else f"element{eid}",
                               type=(e.factory or e.type) if e else None, thread=None,
                               buffers_in=0, buffers_out=0, fps=0.0, mean_process_ms=None,
                               p50_process_ms=None, p99_process_ms=None, mean_cpu_ms=None,
                               thread_share=None, process_time_basis="none"))
    for eid, r in zip(row_ids, rows, strict=True):
        c = totals.get(eid)
        if c is not None:
            r.buffers_in_total, r.buffers_out_total = c.buffers_in, c.buffers_out
            r.bytes_in_total, r.bytes_out_total = c.bytes_in, c.bytes_out
        mine = [wk for wk in m.workers if wk.element == eid]
        if mine:
            r.worker_threads = len(mine)
            r.worker_cpu_pct = round(100 * sum(wk.cpu_fraction for wk in mine), 1)
    rows.sort(key=lambda r: -(r.thread_share or 0))
    return rows


def thread_rows(ctx: Lookup) -> list[dict]:
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
            "role": "streaming",
        })
    return out + worker_rows(ctx)


def worker_rows(ctx: Lookup) -> list[dict]:
    """Threads an element started, charged to it (and the process's other threads that used
    the CPU): no pad pushes, so no busy share; the kernel's CPU and run-queue wait. Labelled
    with their kernel id, since a worker carries the name of the thread that started it."""
    cpu = ctx.metrics.cpu
    out = []
    for wk in ctx.metrics.workers:
        tc = cpu.threads.get(wk.os_tid) if cpu is not None else None
        out.append({
            "thread": f"{wk.name} (worker {wk.os_tid})",
            "os_tid": wk.os_tid,
            "owner": ctx.name(wk.element),
            "busy_pct": None, "queue_wait_pct": None, "cpu_pct": None,
            "proc_cpu_pct": round(100 * wk.cpu_fraction, 1),
            "proc_run_queue_wait_pct": None if tc is None or tc.wait_fraction is None
            else round(100 * tc.wait_fraction, 1),
            "top_element": ctx.name(wk.element),
            "role": "worker",
            "started_by": ctx.thread_name(wk.thread),
            "charged_because": wk.basis,
        })
    # the rest of the process's threads that used the CPU: the application's, a library's
    # thread pool (named after the program), workers no element could be charged with
    known = {t.os_tid for t in ctx.trace.threads} | {wk.os_tid for wk in ctx.metrics.workers}
    for tc in sorted(cpu.threads.values() if cpu is not None else [],
                     key=lambda t: -t.cpu_fraction):
        if tc.os_tid not in known and tc.cpu_fraction >= OTHER_THREAD_CPU:
            out.append({
                "thread": f"{tc.name} ({tc.os_tid})", "os_tid": tc.os_tid, "owner": None,
                "busy_pct": None, "queue_wait_pct": None, "cpu_pct": None,
                "proc_cpu_pct": round(100 * tc.cpu_fraction, 1),
                "proc_run_queue_wait_pct": None if tc.wait_fraction is None
                else round(100 * tc.wait_fraction, 1),
                "top_element": None, "role": "other",
            })
    return out


def pad_rows(trace: Trace, m: Metrics) -> list[dict]:
    """Every pad that moved buffers: frames and fps inside the window, and buffers and bytes
    over the whole input (``*_total``, the numbers gst-stats-1.0 prints for the same log)."""
    if not trace.has_flow:
        return []
    w = m.window
    fl = trace.flow
    inside: dict[int, int] = {}
    secs = w.seconds if w is not None else 0.0
    if w is not None and secs >= 0.05:
        inw = w.contains(fl.ts)
        pads, inv = np.unique(fl.pad[inw], return_inverse=True)
        frames = np.bincount(inv, weights=fl.count[inw])
        inside = {int(p): int(n) for p, n in zip(pads, frames, strict=True)}
    rows = [{"pad": st.label, "frames": inside.get(st.pad, 0),
             "fps": round(inside.get(st.pad, 0) / secs, 3) if secs >= 0.05 else None,
             "buffers_total": st.buffers, "bytes_total": st.bytes}
            for st in pad_stats(trace)]
    rows.sort(key=lambda r: r["pad"])
    return rows


def queue_rows(ctx: Lookup) -> list[dict]:
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


def instrumentation_cost(ctx: Lookup) -> dict:
    fr = ctx.trace.frames
    w = ctx.metrics.window
    fallback = ctx.trace.run.get("tracer_fallback")
    if fallback:  # profiled with GStreamer's stats tracer instead
        return {"tracer": "stats", "fallback": str(fallback)}
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
        fallback = trace.run.get("tracer_fallback")
        missing.append("entry/return timing: element times are estimated from push intervals"
                       + (f" (pipesight's tracer was not used: {fallback})" if fallback else ""))
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
