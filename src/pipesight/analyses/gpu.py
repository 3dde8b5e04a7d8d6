"""Is the GPU the limit, or is it kept waiting, and by what?

Judged from the GPU timeline and what each CPU thread did during the GPU's idle gaps
(measurements and NVTX ranges per thread), never from thread, range or element names: a
pipeline with renamed ranges and threads gets the same verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipesight.analyses.context import MODEL_CLOSE, Context
from pipesight.findings import Evidence, Finding, confidence
from pipesight.metrics.gpu import DeviceUse
from pipesight.metrics.gpu_host import (
    BLOCKED,
    QUEUE_EMPTY,
    QUEUE_FULL,
    WORK,
    HostGaps,
    HostThread,
)
from pipesight.metrics.gpu_threads import DeviceThreads, Thread, ThreadRow

GPU_BUSY = 0.90  # busy share of the span at which the GPU is the limit
STARVED_IDLE = 0.10  # idle share of the span worth a finding
SEVERE_IDLE = 0.30
CAUSE_SHARE = 0.5  # share of the gap time a cause must cover to be named
AFTER_WAIT_SHARE = 0.5  # share of gaps that begin as the launching thread's wait returns
SHORT_GAPS = 0.5  # under this share of the idle time in counted gaps: idle is in short holes
WAITS_ON_GPU = 0.10  # launching thread's share of the span inside CUDA synchronization
MIN_SPAN_NS = 50_000_000  # less GPU activity than this cannot be judged
MIN_OPS = 10


def _pct(x: float) -> float:
    return round(100.0 * x, 1)


def _ms(ns: float) -> float:
    return round(ns / 1e6, 3)


def judgeable(u: DeviceUse) -> bool:
    return u.span_ns >= MIN_SPAN_NS and u.kernels + u.copies + u.memsets >= MIN_OPS


def device_label(u: DeviceUse) -> str:
    return f"GPU {u.device}" + (f" ({u.name})" if u.name else "")


def role(dt: DeviceThreads, t: Thread) -> str:
    """Where a thread sits relative to the thread that launches the GPU work: 'launcher',
    'downstream' (it takes the GPU's results), 'upstream' (it feeds the launcher), or
    'unknown'. Hand-over ranges (opened on one thread, closed on another) say it first; else
    what the thread does with the GPU: waiting for results or copying them back marks a
    consumer, copying input to the GPU a producer."""
    lt = dt.launcher
    if lt is None:
        return "unknown"
    if t == lt:
        return "launcher"
    fwd, back = dt.flows.get((lt, t), 0), dt.flows.get((t, lt), 0)
    if fwd != back:
        return "downstream" if fwd > back else "upstream"
    r = dt.rows.get(t)
    if r is None:
        return "unknown"
    takes, gives = r.d2h_copies + r.sync_calls, r.h2d_copies
    if takes != gives:
        return "downstream" if takes > gives else "upstream"
    return "unknown"


def cycles(u: DeviceUse) -> int | None:
    """Work cycles (batches) in the span, where the gaps recur regularly enough to count
    them: one more than the gaps."""
    _, cv = u.spacing()
    if cv is None or cv > 0.5:
        return None
    return u.gap_count + 1


@dataclass
class Cause:
    code: str  # post-processing, producer, thread, launcher, sync, os-wait, gil, decoder,
    #            short-gaps, unknown
    thread: ThreadRow | None
    share: float  # of the gap time
    source: str  # the measurement it comes from
    text: str
    # from pipesight's tracer on the same clock: the streaming thread and the element or pad
    # probe it was in during the gaps
    thread_label: str | None = None
    element: str | None = None

    @property
    def label(self) -> str | None:
        return self.thread_label or (self.thread.label if self.thread is not None else None)


def _ranges(r: ThreadRow, total: int) -> str:
    if not r.gap_ranges or total <= 0:
        return ""
    return " in " + ", ".join(f"{n} {_pct(ns / total):g}%" for n, ns in r.gap_ranges[:4])


def _stage_text(ctx: Context, h: HostThread, st, gap: int) -> str:
    e = ctx.name(st.element)
    what = (f"in the pad probe on {e.removeprefix('probe@')}" if ctx.trace.topology.is_probe(
        st.element) else f"in {e}")
    if st.state == BLOCKED:
        what += " blocked (off the CPU: a lock, the GIL or the device)"
    return (f"thread {ctx.thread_name(h.thread)} was {what} during {_pct(st.ns / gap):g}% "
            "of it")


def _queue_threads(ctx: Context, q: int, hg: HostGaps, side: str) -> list[HostThread]:
    """The traced threads on the far side of queue q: the one that drains it ("out") or those
    that fill it ("in"), most working time in the gaps first."""
    act = ctx.metrics.activity
    if side == "out":
        idx = [t.index for t in ctx.trace.threads if t.owner == q]
    else:
        idx = [t for (e, t), v in (act.per.items() if act else []) if e == q and
               v.role == "enqueue"]
    rows = [hg.threads[i] for i in idx if i in hg.threads]
    return sorted(rows, key=lambda h: -(h.state_ns(WORK) + h.state_ns(BLOCKED)))


def _from_trace(ctx: Context, u: DeviceUse, dt: DeviceThreads, hg: HostGaps) -> Cause | None:
    """The cause as pipesight's own trace shows it on the GPU's clock: start from the thread
    whose launches end the gaps (or the launching thread), and follow full or empty queues to
    the thread that holds the pipeline up."""
    gap = max(hg.gap_ns, 1)
    start = hg.ender()
    if start is None and dt.launcher is not None:
        start = next((h for h in hg.threads.values() if (h.pid, h.os_tid) == dt.launcher), None)
    if start is None:
        return None
    ended = (f"the launches that end {_pct(start.ended_gaps / max(hg.gaps, 1)):g}% of the "
             f"gaps come from thread {ctx.thread_name(start.thread)}"
             if start.ended_gaps else f"the launching thread is {ctx.thread_name(start.thread)}")
    h, code, path = start, "launcher", [ended]
    for _ in range(4):  # follow at most a few queues
        st = h.top(WORK, BLOCKED, QUEUE_FULL, QUEUE_EMPTY)
        if st is None or st.ns < CAUSE_SHARE * gap:
            return None
        if st.state in (WORK, BLOCKED):
            path.append(_stage_text(ctx, h, st, gap))
            role = "launcher" if h is start else code
            return Cause(role, None, st.ns / gap, "tracer", "; ".join(path),
                         thread_label=ctx.thread_name(h.thread), element=ctx.name(st.element))
        side = "out" if st.state == QUEUE_FULL else "in"
        nxt = _queue_threads(ctx, st.element, hg, side)
        if not nxt or nxt[0] is h:
            return None
        path.append(f"it waits {_pct(st.ns / gap):g}% of the idle time "
                    + (f"for room in {ctx.name(st.element)}" if side == "out" else
                       f"for data from {ctx.name(st.element)}"))
        code = "post-processing" if side == "out" else "producer"
        h = nxt[0]
    return None


def find_cause(ctx: Context, u: DeviceUse, dt: DeviceThreads) -> Cause:
    idle = u.span_ns - u.busy_ns
    hg = ctx.metrics.gpu_host.get(u.device)
    if hg is not None and hg.gaps and u.gap_ns >= SHORT_GAPS * idle:
        c = _from_trace(ctx, u, dt, hg)
        if c is not None:
            return c
    if u.gap_ns < SHORT_GAPS * idle:
        return Cause("short-gaps", None, 1 - u.gap_ns / max(idle, 1), "nsys-gpu",
                     f"most idle time is in holes shorter than {_ms(u.gap_min_ns):g} ms between "
                     "operations: launches come too slowly for work this small")
    gap = max(u.gap_ns, 1)
    g = ctx.trace.gpu
    ranked = dt.ranked()
    top = ranked[0] if ranked else None
    launcher = dt.rows.get(dt.launcher) if dt.launcher else None
    if top is not None and top.gap_busy_ns >= CAUSE_SHARE * gap:
        share = top.gap_busy_ns / gap
        who = top.label
        busy = f"{who} is busy during {_pct(share):g}% of the idle time{_ranges(top, gap)}"
        rl = role(dt, top.key)
        if rl == "launcher":
            if dt.gap_count and dt.gaps_after_wait >= AFTER_WAIT_SHARE * dt.gap_count:
                return Cause("sync", top, share, "nsys-nvtx",
                             f"the launching thread {who} waits for the GPU (synchronization "
                             f"or a blocking copy) before {dt.gaps_after_wait} of the "
                             f"{dt.gap_count} gaps, then works on the CPU before it launches "
                             f"again; {busy}")
            return Cause("launcher", top, share, "nsys-nvtx",
                         f"the launching thread itself works on the CPU between launches: {busy}")
        what = {"downstream": "post-processing (it takes the GPU's results)",
                "upstream": "producing the GPU's input (it feeds the launching thread)"}
        code = {"downstream": "post-processing", "upstream": "producer"}.get(rl, "thread")
        text = busy + (f": {what[rl]}" if rl in what else "")
        if launcher is not None and launcher.gap_os_ns >= CAUSE_SHARE * gap:
            text += (f"; meanwhile the launching thread {launcher.label} waits in the OS "
                     f"{_pct(launcher.gap_os_ns / gap):g}% of the idle time")
        return Cause(code, top, share, "nsys-nvtx", text)
    if launcher is not None:
        for ns, code, src, what in (
            (launcher.gap_gil_ns, "gil", "nsys-gil", "waits for the Python GIL"),
            (launcher.gap_sync_ns, "sync", "nsys-cuda-api",
             "waits in CUDA synchronization (on other work, events or streams)"),
            (launcher.gap_os_ns, "os-wait", "nsys-osrt", "waits in OS calls"),
        ):
            if ns >= CAUSE_SHARE * gap:
                calls = ""
                if code == "os-wait" and launcher.gap_os_calls:
                    calls = " (" + ", ".join(n for n, _ in launcher.gap_os_calls[:3]) + ")"
                return Cause(code, launcher, ns / gap, src,
                             f"the launching thread {launcher.label} {what}{calls} during "
                             f"{_pct(ns / gap):g}% of the idle time")
    vid = max(dt.rows.values(), key=lambda r: r.gap_video_ns, default=None)
    if vid is not None and vid.gap_video_ns >= CAUSE_SHARE * gap:
        return Cause("decoder", vid, vid.gap_video_ns / gap, "nsys-video",
                     f"{vid.label} is in video decoder/encoder calls during "
                     f"{_pct(vid.gap_video_ns / gap):g}% of the idle time")
    part = ""
    if top is not None and top.gap_busy_ns > 0:
        part = (f"; the most active thread, {top.label}, is busy during only "
                f"{_pct(top.gap_busy_ns / gap):g}% of it{_ranges(top, gap)}")
    hint = "" if g is None or len(g.nvtx) else " (the trace has no NVTX ranges)"
    return Cause("unknown", top, 0.0, "nsys-gpu",
                 f"no traced CPU activity covers the idle time{hint}{part}; add NVTX ranges "
                 "to the threads that prepare and consume the GPU's work")


def _gap_evidence(u: DeviceUse) -> list[Evidence]:
    ev = [
        Evidence("gpu_busy_pct", _pct(u.busy_fraction), "%", "nsys-gpu"),
        Evidence("gpu_span_ms", _ms(u.span_ns), "ms", "nsys-gpu"),
        Evidence("idle_gaps", u.gap_count, f"gaps >= {_ms(u.gap_min_ns):g} ms", "nsys-gpu"),
        Evidence("idle_in_gaps_pct", _pct(u.gap_fraction), "%", "nsys-gpu"),
    ]
    if u.gap_count:
        ev.append(Evidence("median_gap_ms", _ms(float(sorted(
            (u.gap_end - u.gap_start).tolist())[u.gap_count // 2])), "ms", "nsys-gpu"))
    spacing, cv = u.spacing()
    if spacing is not None:
        ev.append(Evidence("gap_spacing_ms", _ms(spacing), "ms", "nsys-gpu"))
        ev.append(Evidence("gap_spacing_cv", round(cv or 0.0, 3), "", "nsys-gpu"))
    return ev


def _starved(ctx: Context, u: DeviceUse, dt: DeviceThreads) -> Finding:
    idle = 1 - u.busy_fraction
    cause = find_cause(ctx, u, dt)
    ev = _gap_evidence(u)
    if cause.label is not None and cause.share > 0:
        what = f"{cause.label}: {cause.element}" if cause.element else cause.label
        ev.append(Evidence(f"busy_during_gaps_pct[{what}]", _pct(cause.share), "%",
                           cause.source))
    hg = ctx.metrics.gpu_host.get(u.device)
    if hg is not None:
        err = hg.clock.error_ns
        ev.append(Evidence("clock_alignment", hg.clock.method, "", "clock"))
        if err is not None:
            ev.append(Evidence("clock_alignment_error_us", round(err / 1e3, 1), "us", "clock"))
    named = cause.code not in ("unknown",)
    freed = u.gap_ns if cause.code != "short-gaps" else u.span_ns - u.busy_ns
    speedup = u.span_ns / max(u.span_ns - freed, 1)
    ev.append(Evidence("speedup_if_gaps_closed", round(speedup, 3), "x", "nsys-gpu"))
    fps = ctx.fps()
    n = cycles(u)
    if n is not None:
        rate = n / (u.span_ns / 1e9)
        ev.append(Evidence("gpu_cycles_per_s", round(rate, 2), "/s", "nsys-gpu"))
        ev.append(Evidence("gpu_cycles_per_s_if_gaps_closed", round(rate * speedup, 2), "/s",
                           "nsys-gpu"))
    title = (f"{device_label(u)} is starved: idle {_pct(idle):g}% of the time "
             f"({u.gap_count} gaps of {_ms(u.gap_min_ns):g} ms or more, "
             f"{_pct(u.gap_fraction):g}% of the time); {cause.text}")
    fix = {
        "post-processing": "Take the per-batch post-processing off the critical path: split it "
                           "over more threads (a queue before each stage), do drawing and tiling "
                           "on the GPU or fewer times, and keep metadata work light.",
        "producer": "Feed the GPU faster: more decoder/producer threads or sources, hardware "
                    "decode, a deeper queue before inference.",
        "sync": "Do not wait for the GPU on the launching thread before preparing the next "
                "batch: use pinned memory and asynchronous copies, events instead of "
                "device/stream synchronization, and prepare batch N+1 while N runs.",
        "launcher": "Move the CPU work off the launching thread, or overlap it with the GPU "
                    "(prepare the next batch while the current one runs).",
        "short-gaps": "Launch bigger work: batch more, fuse kernels, use CUDA graphs.",
        "os-wait": "Find what the launching thread waits for (I/O, a lock, a sleep, an empty "
                   "queue upstream).",
        "gil": "Release the GIL in the hot Python threads, or move work to another process.",
        "decoder": "The decoder paces the GPU: more decode sessions or a lighter stream.",
    }.get(cause.code, "Add NVTX ranges (or profile with --nsys and osrt tracing) to see what "
                      "keeps the GPU waiting.")
    if cause.element is not None and cause.source == "tracer":
        e = ctx.trace.topology.by_name(cause.element)
        what = (f"the pad probe on {cause.element.removeprefix('probe@')}"
                if e is not None and e.probe_of is not None else cause.element)
        fix = (f"The GPU waits for {what} on thread {cause.label}: make it cheaper (batched on "
               "the GPU rather than per frame on the host), or take it off the GPU's path (a "
               "queue and a thread of its own, so the next batch is launched while it works).")
    predicted = fps * speedup if fps else None
    model = _ceiling(ctx)
    if predicted is not None and model is not None and predicted > model[0]:
        # closing the gaps cannot take the pipeline past the model's own speed
        ev.append(Evidence("ceiling_fps", round(model[0], 1), "fps", "ceiling"))
        predicted = model[0]
    return Finding(
        code="gpu-starved",
        title=title,
        severity="critical" if idle >= SEVERE_IDLE else "warning",
        subject=device_label(u),
        evidence=ev,
        fix=fix,
        predicted_fps=round(predicted, 2) if predicted else None,
        confidence=confidence({"nsys-gpu", cause.source} if named else {"nsys-gpu"}),
        kind="gpu-starved",
        element=cause.element if named else None,
        thread=cause.label if named else None,
    )


def _ceiling(ctx: Context) -> tuple[float, str] | None:
    """The model alone's FPS and where it comes from, when a comparable ceiling was given."""
    c = ctx.metrics.ceiling
    if c is None or not c.accepted:
        return None
    return c.ceiling.fps, c.ceiling.source


def _busy(ctx: Context, u: DeviceUse, dt: DeviceThreads) -> Finding:
    ev = _gap_evidence(u)
    sources = {"nsys-gpu"}
    text = f"{device_label(u)} is busy {_pct(u.busy_fraction):g}% of the time: the GPU is the limit"
    launcher = dt.rows.get(dt.launcher) if dt.launcher else None
    if launcher is not None:
        w = launcher.sync_ns / max(u.span_ns, 1)
        if w > 0:
            ev.append(Evidence(f"launcher_waits_for_gpu_pct[{launcher.label}]", _pct(w), "%",
                               "nsys-cuda-api"))
            if w >= WAITS_ON_GPU:
                sources.add("nsys-cuda-api")
    model = _ceiling(ctx)
    fps = ctx.fps()
    if model is not None and fps:
        ratio = fps / model[0]
        ev.append(Evidence("share_of_model_alone_pct", _pct(ratio), "%", "ceiling"))
        if ratio >= MODEL_CLOSE:
            sources.add("ceiling")
        text += (f"; the pipeline runs at {_pct(ratio):g}% of the model alone "
                 f"({model[0]:.1f} fps, {model[1]})")
        fix = ("The pipeline is at the model's own speed: a faster model (INT8/FP16 engine, "
               "smaller input) or a bigger GPU is what remains.") if ratio >= MODEL_CLOSE else (
               "The GPU is full but slower than the model alone: other GPU work (conversion, "
               "tiling, OSD kernels, copies) shares it; see the GPU time per NVTX range.")
    else:
        text += ("; the timeline is full, but the kernels may be inefficient (batch 1, FP32, "
                 "unfused layers): compare with the model alone at the same batch size")
        fix = ("Measure the model alone at the same batch (trtexec or bench-model); if it is "
               "much faster, the GPU does other work too or the kernels are inefficient "
               "(raise the batch size, use FP16/INT8, fuse).")
    return Finding(
        code="gpu-bound",
        title=text,
        severity="critical",
        subject=device_label(u),
        evidence=ev,
        fix=fix,
        predicted_fps=None,
        # a full GPU may still run inefficient kernels: only the model alone, timed at the
        # same batch and precision, tells the pipeline is at its maximum
        confidence=confidence(sources, required="ceiling"),
        kind="gpu",
        thread=launcher.label if launcher is not None else None,
    )


def analyze(ctx: Context) -> list[Finding]:
    gv = ctx.metrics.gpu
    if gv is None:
        return []
    out: list[Finding] = []
    for u in gv.devices:
        if not judgeable(u):
            continue
        dt = gv.threads[u.device]
        if u.busy_fraction >= GPU_BUSY:
            out.append(_busy(ctx, u, dt))
        elif 1 - u.busy_fraction >= STARVED_IDLE:
            out.append(_starved(ctx, u, dt))
    return out


def why_unknown(ctx: Context) -> str | None:
    """Why a GPU timeline named no bottleneck, when the trace has nothing else to go on."""
    g, gv = ctx.trace.gpu, ctx.metrics.gpu
    if g is None or ctx.trace.has_flow:
        return None
    if gv is None or not gv.devices:
        return ("The Nsight Systems export holds no GPU operations (kernels, copies, memsets): "
                "was CUDA traced (-t cuda), and did the application reach the GPU?")
    u = max(gv.devices, key=lambda d: d.span_ns)
    if not judgeable(u):
        return (f"Too little GPU activity to judge: {u.kernels + u.copies + u.memsets} "
                f"operations over {_ms(u.span_ns):g} ms on {device_label(u)}. Profile a longer "
                "steady-state run.")
    return (f"{device_label(u)} is busy {_pct(u.busy_fraction):g}% of the time: neither full "
            "nor idle enough to name a limit from the GPU timeline alone.")
