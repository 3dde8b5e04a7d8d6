"""Which streaming thread limits throughput, and what on it: an element, the source, or a
sink's clock. Judged from measurements only, never from element or factory names."""

from __future__ import annotations

from pipesight.analyses.context import SATURATED, SUSPECT, Context
from pipesight.findings import Evidence, Finding

WAITING_SHARE = 0.5  # of an element's wall time spent blocked: it mostly waits
QUEUE_FULL = 0.5  # share of the window a queue spends at >= 90% of a limit
QUEUE_EMPTY = 0.5
PROC_BUSY = 0.85  # share of one core in the kernel's accounting
RATE_MATCH = 0.05  # measured rate within 5% of the caps' framerate


def analyze(ctx: Context) -> list[Finding]:
    act = ctx.metrics.activity
    if act is None or act.basis == "none":
        return []
    out: list[Finding] = []
    for t, tt in sorted(act.threads.items(), key=lambda kv: -kv[1].busy_fraction):
        if tt.busy_fraction < SUSPECT:
            continue
        rows = [r for r in ctx.on_thread(t) if r.wall_ns - r.wait_ns > 0]
        if not rows:
            continue
        f = _classify(ctx, t, rows[0], rows)
        if f is not None:
            out.append(f)
    return out


def _pct(x: float) -> float:
    return round(100.0 * x, 1)


def _classify(ctx: Context, t: int, top, rows) -> Finding | None:
    act = ctx.metrics.activity
    assert act is not None
    tt = act.threads[t]
    W = ctx.window_ns()
    busy_ns = max(tt.covered_ns - tt.wait_ns, 1)
    own_ns = top.wall_ns - top.wait_ns
    e = top.element
    name = ctx.name(e)
    thread = ctx.thread_name(t)
    cpu_ratio = top.cpu_ns / max(top.wall_ns, 1) if act.basis == "exact" else None
    # waiting, not computing: most of its time the thread was blocked inside it (preemption
    # by other threads is not waiting)
    waits = act.basis == "exact" and top.blocked_ns > WAITING_SHARE * top.wall_ns
    exact = act.basis == "exact"
    ev = [
        Evidence("thread_busy_pct", _pct(tt.busy_fraction), "%", "tracer"),
        Evidence("element_share_of_thread_pct", _pct(own_ns / busy_ns), "%", "tracer"),
        Evidence("element_share_of_window_pct", _pct(own_ns / W), "%", "tracer"),
    ]
    if cpu_ratio is not None:
        ev.append(Evidence("element_cpu_of_wall_pct", _pct(cpu_ratio), "%", "tracer"))
        ev.append(Evidence("element_blocked_of_wall_pct",
                           _pct(top.blocked_ns / max(top.wall_ns, 1)), "%", "tracer"))
    signals: set[str] = set()
    if exact and tt.busy_fraction >= SATURATED and own_ns / busy_ns >= 0.5:
        signals.add("tracer")

    fq = ctx.feeding_queue(t)
    if fq is not None:
        q = ctx.metrics.queues[fq]
        if q.full_fraction is not None:
            ev.append(Evidence(f"queue_before_full_pct[{q.name}]", _pct(q.full_fraction), "%",
                               "queue-flow"))
        ev.append(Evidence(f"queue_before_mean_level[{q.name}]",
                           round(q.mean_level_buffers, 1), "buffers", "queue-flow"))
    after = ctx.queues_fed_by(t)
    for qa in after:
        q = ctx.metrics.queues[qa]
        ev.append(Evidence(f"queue_after_empty_pct[{q.name}]", _pct(q.empty_fraction), "%",
                           "queue-flow"))
    q_before_full = fq is not None and (ctx.metrics.queues[fq].full_fraction or 0) >= QUEUE_FULL
    q_after_empty = bool(after) and all(
        ctx.metrics.queues[a].empty_fraction >= QUEUE_EMPTY for a in after
    )
    pc = ctx.proc_cpu(t)
    if pc is not None:
        ev.append(Evidence("thread_cpu_pct", _pct(pc), "% of a core", "proc"))

    fps = ctx.fps()
    is_sink = e in act.sinks
    is_source = e in act.sources and top.role == "produce"

    if is_sink and waits:
        return _sink_sync(ctx, t, top, ev, signals, q_before_full, fq, fps)
    if is_source:
        return _source(ctx, t, top, ev, signals, waits, q_after_empty, fps, pc)

    if q_before_full or q_after_empty:
        signals.add("queue-flow")
    if pc is not None and pc >= PROC_BUSY and not waits:
        signals.add("proc")
    predicted = _predicted(ctx, t, own_ns)
    how = "waiting, not computing: it may wait on a device (GPU, hardware engine), I/O or a lock" \
        if waits else "computing"
    summary = (
        f"{name} limits throughput: it takes {_pct(own_ns / busy_ns):g}% of streaming thread "
        f"{thread}, which is busy {_pct(tt.busy_fraction):g}% of the time (mostly {how})"
    )
    if q_before_full and fq is not None:
        summary += f"; the queue in front of it ({ctx.name(fq)}) is full"
    elif q_after_empty:
        summary += "; the queue after it runs empty"
    fix = (
        f"Make {name} cheaper (smaller frames, a faster setting or implementation, hardware "
        f"offload), or split its work: put a queue before it if it shares its thread with other "
        f"busy elements ({_others(ctx, rows, top)})."
        if not waits else
        f"Find what {name} waits for (GPU synchronisation, a device, a lock); "
        "a profile with --nsys shows GPU work."
    )
    if ctx.trace.topology.is_probe(e):
        # the application's own callback, run inside the push on the streaming thread
        summary = summary.replace(
            f"{name} limits", f"The application's pad probe on {name.removeprefix('probe@')} "
            f"({name}) limits", 1)
        mine = [u for u in ctx.metrics.callbacks if u.element == e]
        if mine and own_ns > 0:
            summary += "; " + ", ".join(
                f"{u.name.split(': ', 1)[-1]} takes {_pct(u.wall_ns / own_ns):g}% of it"
                for u in mine[:2])
        fix = (f"The probe callback on {name.removeprefix('probe@')} runs on the streaming thread "
               "for every buffer: make it cheaper, or hand its work to a thread of its own "
               "(copy what it needs and return; batch work on the GPU)"
               + ("; it waits most of the time: for the Python GIL, a lock or the GPU"
                  if waits else "") + ".")
    return Finding(
        code="element-bound",
        title=summary,
        severity="critical" if tt.busy_fraction >= SATURATED else "warning",
        subject=name,
        evidence=ev,
        fix=fix,
        predicted_fps=predicted,
        confidence=_confidence(signals),
        kind="element",
        element=name,
        thread=thread,
    )


def _others(ctx: Context, rows, top) -> str:
    rest = [r for r in rows if r is not top and r.wall_ns - r.wait_ns > 0][:3]
    if not rest:
        return "none"
    return ", ".join(
        f"{ctx.name(r.element)} {_pct((r.wall_ns - r.wait_ns) / ctx.window_ns()):g}%" for r in rest
    )


def _sink_sync(ctx, t, top, ev, signals, q_before_full, fq, fps) -> Finding:
    name = ctx.name(top.element)
    sync = ctx.prop(top.element, "sync")
    wait_ns = top.blocked_ns
    ev.append(Evidence("sink_clock_wait_pct", _pct(wait_ns / ctx.window_ns()), "%", "tracer"))
    if sync is not None:
        ev.append(Evidence("sink_sync_property", bool(sync), "", "props"))
    signals.add("tracer")
    if sync is True:
        signals.add("props")
    nominal = ctx.nominal_fps(top.element)
    if nominal and fps:
        ev.append(Evidence("caps_framerate", round(nominal, 3), "fps", "caps"))
        if abs(fps - nominal) / nominal <= RATE_MATCH:
            signals.add("caps")
    if q_before_full:
        signals.add("queue-flow")
    predicted = _predicted(ctx, t, wait_ns)
    if sync is False:
        title = (f"{name} waits most of its time without synchronising to the clock: the sink "
                 "device or its I/O paces the pipeline")
        fix = f"Check what {name} writes to or displays on; a faster sink or a queue before it."
        kind = "element"
    else:
        title = (f"{name} paces the pipeline to the clock (sync): it waits "
                 f"{_pct(wait_ns / ctx.window_ns()):g}% of the time for each buffer's "
                 "presentation time, so the pipeline runs at the stream's rate, not its maximum")
        fix = (f"For a throughput run set sync=false on {name} (e.g. fakesink sync=false); keep "
               "sync=true only where frames must be shown in real time.")
        kind = "sink-sync"
    return Finding(
        code="sink-sync-bound" if kind == "sink-sync" else "sink-bound",
        title=title,
        severity="critical",
        subject=name,
        evidence=ev,
        fix=fix,
        predicted_fps=predicted,
        confidence=_confidence(signals),
        kind=kind,  # type: ignore[arg-type]
        element=name,
        thread=ctx.thread_name(t),
    )


def _source(ctx, t, top, ev, signals, waits, q_after_empty, fps, pc) -> Finding:
    name = ctx.name(top.element)
    live_share = ctx.live_flag_share(top.element)
    is_live = ctx.prop(top.element, "is-live")
    if live_share is not None:
        ev.append(Evidence("buffers_flagged_live_pct", _pct(live_share), "%", "buffer-flags"))
    if is_live is not None:
        ev.append(Evidence("is_live_property", bool(is_live), "", "props"))
    nominal = ctx.nominal_fps(top.element)
    if nominal and fps:
        ev.append(Evidence("caps_framerate", round(nominal, 3), "fps", "caps"))
    if q_after_empty:
        signals.add("queue-flow")
    live = (live_share or 0) >= 0.5 or is_live is True
    if waits:
        signals.add("tracer")
        if live:
            if live_share and live_share >= 0.5:
                signals.add("buffer-flags")
            elif is_live is True:
                signals.add("props")
            if nominal and fps and abs(fps - nominal) / nominal <= RATE_MATCH:
                signals.add("caps")
            title = (f"The pipeline keeps up with its live source {name}: the source waits for "
                     f"each frame ({_pct(top.blocked_ns / ctx.window_ns()):g}% of the "
                     "time) and nothing downstream falls behind")
            return Finding(
                code="live-source-bound",
                title=title,
                severity="info",
                subject=name,
                evidence=ev,
                fix="Nothing to fix: throughput is set by the source's frame rate.",
                predicted_fps=None,
                confidence=_confidence(signals),
                kind="live-source",
                element=name,
                thread=ctx.thread_name(t),
            )
        title = (f"The source {name} waits for data most of the time (I/O, network or a device) "
                 "and delivers buffers slower than the pipeline could take them")
        fix = f"Look at what {name} reads from: storage, network bandwidth, the capture device."
    else:
        if pc is not None and pc >= PROC_BUSY:
            signals.add("proc")
        if ctx.metrics.activity.basis == "exact" and \
                ctx.metrics.activity.threads[t].busy_fraction >= SATURATED:
            signals.add("tracer")
        title = (f"The source {name} cannot produce faster: producing buffers takes "
                 f"{_pct((top.wall_ns - top.wait_ns) / ctx.window_ns()):g}% of its thread's time "
                 "and the elements after it wait for data")
        fix = (f"Make {name} cheaper (simpler pattern, smaller frames, a faster reader) or add "
               "sources in parallel.")
    return Finding(
        code="source-bound",
        title=title,
        severity="critical",
        subject=name,
        evidence=ev,
        fix=fix,
        predicted_fps=_predicted(ctx, t, top.wall_ns - top.wait_ns),
        confidence=_confidence(signals),
        kind="source",
        element=name,
        thread=ctx.thread_name(t),
    )


def _confidence(signals: set[str]) -> str:
    """Two independent measurements agreeing confirm; one suspects."""
    return "confirmed" if len(signals) >= 2 else "suspected"


def _predicted(ctx: Context, t: int, freed_ns: int) -> float | None:
    """Throughput if thread t lost ``freed_ns`` of its busy time, capped by every other
    thread's own ceiling (its rate if it never waited on a queue)."""
    act = ctx.metrics.activity
    fps = ctx.fps()
    if act is None or not fps:
        return None
    tt = act.threads[t]
    rest = tt.covered_ns - tt.wait_ns - freed_ns
    best = fps * ctx.window_ns() / rest if rest > 0 else float("inf")
    for other, ot in act.threads.items():
        if other == t:
            continue
        ob = ot.covered_ns - ot.wait_ns
        if ob > 0:
            best = min(best, fps * ctx.window_ns() / ob)
    if best == float("inf"):
        return None
    return round(best, 2)
