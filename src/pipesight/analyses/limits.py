"""Which streaming thread limits throughput, and what on it: an element, the source, or a
sink's clock. Judged from measurements only, never from element or factory names.

Live sources are judged in live.py: a sink that waits for the clock, or a live source that
waits for its next frame, is the pipeline keeping up (or being late) with the source, not a
stage to fix. Titles say what was measured; ``claim`` is what the verdict says when it names
the finding (verdict/settle.py), so that a candidate that is not the verdict never reads as
one.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipesight.analyses import knob_advice, predict
from pipesight.analyses.context import SATURATED, SUSPECT, Context
from pipesight.analyses.feeders import busy_outside, feeder_thread, wants
from pipesight.findings import Evidence, Finding, confidence

WAITING_SHARE = 0.5  # of an element's wall time spent blocked: it mostly waits
QUEUE_FULL = 0.5  # share of the window a queue spends at >= 90% of a limit
QUEUE_EMPTY = 0.5
PROC_BUSY = 0.85  # share of one core in the kernel's accounting
RATE_MATCH = 0.05  # measured rate within 5% of the caps' framerate
HANDOVER_ROLES = ("enqueue", "loop")


def analyze(ctx: Context) -> list[Finding]:
    act = ctx.metrics.activity
    if act is None or act.basis == "none":
        return []
    out: list[Finding] = []
    for t, tt in sorted(act.threads.items(), key=lambda kv: -kv[1].busy_fraction):
        if tt.busy_fraction < SUSPECT:
            continue
        rows = [r for r in ctx.on_thread(t) if r.wall_ns - r.wait_ns > 0]
        # a hand-over (a queue, a muxer taking buffers to its own thread) is never the work
        # that limits a thread: its CPU counts, but it stays the thread's other work
        top = next((r for r in rows if r.role not in HANDOVER_ROLES), None)
        if top is None or _output_dropped(ctx, t):
            continue
        f = _classify(ctx, t, top, rows)
        if f is not None:
            out.append(f)
    return out


def _pct(x: float) -> float:
    return round(100.0 * x, 1)


def _output_dropped(ctx: Context, t: int) -> bool:
    """A thread that makes more buffers than reach the sinks, where buffers are dropped
    downstream (a leaky queue): its pace is not the pipeline's, the drops are the symptom of a
    slower stage after it (metrics/stages.py measures the excess)."""
    model = ctx.metrics.stages
    st = model.stages.get(t) if model is not None else None
    return st is not None and st.scale > 1.0


def _live_sink(ctx: Context, e: int) -> bool:
    return any(e in f.sinks for f in ctx.metrics.live)


@dataclass
class _Seen:
    """What the measurements say about the element at the top of one busy thread."""

    ev: list[Evidence]
    signals: set[str]
    own_ns: int  # its own time on the thread, waiting on queues excluded
    busy_ns: int  # the thread's busy time
    waits: bool  # most of its time blocked (a device, I/O, a lock), not computing
    fq: int | None  # the queue feeding the thread
    q_before_full: bool
    q_after_empty: bool
    pc: float | None  # the thread's kernel CPU, of one core


def _seen(ctx: Context, t: int, top) -> _Seen:
    act = ctx.metrics.activity
    assert act is not None
    tt = act.threads[t]
    W = ctx.window_ns()
    busy_ns = max(tt.covered_ns - tt.wait_ns, 1)
    own_ns = top.wall_ns - top.wait_ns
    exact = act.basis == "exact"
    # waiting, not computing: most of its time the thread was blocked inside it (preemption
    # by other threads is not waiting)
    waits = exact and top.blocked_ns > WAITING_SHARE * top.wall_ns
    ev = [
        Evidence("thread_busy_pct", _pct(tt.busy_fraction), "%", "tracer"),
        Evidence("element_share_of_thread_pct", _pct(own_ns / busy_ns), "%", "tracer"),
        Evidence("element_share_of_window_pct", _pct(own_ns / W), "%", "tracer"),
    ]
    if exact:
        ev.append(Evidence("element_cpu_of_wall_pct",
                           _pct(top.cpu_ns / max(top.wall_ns, 1)), "%", "tracer"))
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
    pc = ctx.proc_cpu(t)
    if pc is not None:
        ev.append(Evidence("thread_cpu_pct", _pct(pc), "% of a core", "proc"))
    return _Seen(
        ev, signals, own_ns, busy_ns, waits, fq,
        q_before_full=fq is not None and (ctx.metrics.queues[fq].full_fraction or 0)
        >= QUEUE_FULL,
        q_after_empty=bool(after) and all(ctx.metrics.queues[a].empty_fraction >= QUEUE_EMPTY
                                          for a in after),
        pc=pc)


def _classify(ctx: Context, t: int, top, rows) -> Finding | None:
    act = ctx.metrics.activity
    assert act is not None
    e = top.element
    s = _seen(ctx, t, top)
    is_source = e in act.sources and top.role == "produce"
    if e in act.sinks and s.waits:
        if _live_sink(ctx, e) and ctx.prop(e, "sync") is not False:
            return None  # a sink waiting for a live source's buffers: live.py judges it
        return _sink_sync(ctx, t, top, s.ev, s.signals, s.q_before_full)
    if is_source:
        if s.waits and any(f.element == e for f in ctx.metrics.live):
            return None  # a live source waiting for its next frame: live.py judges it
        return _source(ctx, t, top, s.ev, s.signals, s.waits, s.q_after_empty, s.pc)
    return _element_bound(ctx, t, top, rows, s)


def _element_bound(ctx: Context, t: int, top, rows, s: _Seen) -> Finding:
    act = ctx.metrics.activity
    assert act is not None
    tt = act.threads[t]
    e, name = top.element, ctx.name(top.element)
    if s.q_before_full or s.q_after_empty:
        s.signals.add("queue-flow")
    if s.pc is not None and s.pc >= PROC_BUSY and not s.waits:
        s.signals.add("proc")
    how = "waiting, not computing: it may wait on a device (GPU, hardware engine), I/O or a lock" \
        if s.waits else "computing"
    own_workers = [w for w in ctx.metrics.workers if w.element == e]
    cores = sum(w.cpu_fraction for w in own_workers)
    if own_workers:
        s.ev.append(Evidence("worker_threads_cores", round(cores, 2), "cores", "proc"))
        if s.waits:
            s.signals.add("proc")
            how = (f"waiting while its {len(own_workers)} worker threads use {cores:.1f} cores: "
                   "work done on threads of its own")
    elif s.waits and (others := busy_outside(ctx)):
        cores = sum(w.cpu_fraction for w in others)
        s.ev.append(Evidence("threads_outside_streaming_cores", round(cores, 2), "cores",
                             "proc"))
        s.signals.add("proc")
        how = (f"waiting while {len(others)} threads that make no pad pushes use {cores:.1f} "
               "cores: work done on threads of its own")
    title = (f"{name} takes {_pct(s.own_ns / s.busy_ns):g}% of streaming thread "
             f"{ctx.thread_name(t)}, which is busy {_pct(tt.busy_fraction):g}% of the time "
             f"(mostly {how})")
    if own_workers and not s.waits:
        title += f"; its {len(own_workers)} worker threads use {cores:.1f} cores besides"
    if s.q_before_full and s.fq is not None:
        title += f"; {ctx.handover_words([s.fq], 'in front of')} is full"
    elif s.q_after_empty:
        title += f"; {ctx.handover_words(ctx.queues_fed_by(t), 'after')} runs empty"
    # other elements' work on the thread (not the queues handing buffers to or from it: a queue
    # before the element would not take that off)
    others = [r for r in rows if r is not top and r.role in ("process", "produce")]
    worked = s.waits and cores > 0  # it waits for threads of its own
    # its own knobs first: the change that names a property is the one to try first
    fixes = predict.knob_fixes(ctx, t, top, knob_advice.advise(ctx, e)) + \
        predict.element_fixes(ctx, t, top, others, s.waits, cores if worked else 0.0)
    if worked:
        generic = next(f for f in fixes if f.action in ("find-wait", "cheaper"))
        generic.text = (f"Make {name}'s work cheaper or give it more cores: it waits for its "
                        "own worker threads (more threads, a cheaper setting, hardware "
                        "offload).")
    claim = f"{name} limits throughput"
    if ctx.trace.topology.is_probe(e):
        claim, title = _probe_words(ctx, e, name, s, title, fixes)
    return Finding(
        code="element-bound", title=title,
        severity="critical" if tt.busy_fraction >= SATURATED else "warning",
        subject=name, evidence=s.ev, fix=" ".join(f.text for f in fixes if f.action != "remove"),
        predicted_fps=_upper(fixes), confidence=confidence(s.signals), kind="element",
        element=name, thread=ctx.thread_name(t), claim=claim, fixes=fixes,
    )


def _probe_words(ctx: Context, e: int, name: str, s: _Seen, title: str, fixes
                 ) -> tuple[str, str]:
    """The application's own callback, run inside the push on the streaming thread: say so,
    name its Python function where pipesight timed it, and advise on callbacks."""
    pad = name.removeprefix("probe@")
    mine = [u for u in ctx.metrics.callbacks if u.element == e]
    if mine and s.own_ns > 0:
        title += "; " + ", ".join(
            f"{u.name.split(': ', 1)[-1]} takes {_pct(u.wall_ns / s.own_ns):g}% of it"
            for u in mine[:2])
    for f in fixes:
        if f.action in ("cheaper", "find-wait"):
            f.text = (f"The probe callback on {pad} runs on the streaming thread for every "
                      "buffer: make it cheaper, or hand its work to a thread of its own (copy "
                      "what it needs and return; batch work on the GPU)"
                      + ("; it waits most of the time: for the Python GIL, a lock or the GPU"
                         if s.waits else "") + ".")
    return f"The application's pad probe on {pad} ({name}) limits throughput", title


def _upper(fixes) -> float | None:
    return next((f.predicted_fps for f in fixes if f.action == "remove"), None)


def _sink_sync(ctx, t, top, ev, signals, q_before_full) -> Finding:
    name = ctx.name(top.element)
    sync = ctx.prop(top.element, "sync")
    wait_ns = top.blocked_ns
    fps = ctx.fps()
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
    if sync is False:
        title = (f"{name} waits {_pct(wait_ns / ctx.window_ns()):g}% of the time without "
                 "synchronising to the clock: its device or its I/O")
        fixes = predict.element_fixes(ctx, t, top, 0.0, waits=True)
        fixes[0].text = (f"Check what {name} writes to or displays on; a faster sink or a "
                         "queue before it.")
        claim, kind, code = f"{name}'s device or I/O paces the pipeline", "element", "sink-bound"
    else:
        title = (f"{name} waits {_pct(wait_ns / ctx.window_ns()):g}% of the time for each "
                 "buffer's presentation time (sync), so the pipeline runs at the stream's rate, "
                 "not its maximum; no live source feeds it")
        fixes = predict.sync_fixes(ctx, top.element)
        claim, kind, code = (f"{name} paces the pipeline to the clock", "sink-sync",
                             "sink-sync-bound")
    return Finding(
        code=code,
        title=title,
        severity="critical",
        subject=name,
        evidence=ev,
        fix=fixes[0].text,
        predicted_fps=fixes[0].predicted_fps if kind == "sink-sync" else _upper(fixes),
        confidence=confidence(signals),
        kind=kind,  # type: ignore[arg-type]
        element=name,
        thread=ctx.thread_name(t),
        claim=claim,
        fixes=fixes,
    )


def _source(ctx, t, top, ev, signals, waits, q_after_empty, pc) -> Finding:
    name = ctx.name(top.element)
    act = ctx.metrics.activity
    if q_after_empty:
        signals.add("queue-flow")
    feeder, fd = None, None
    if waits:
        signals.add("tracer")
        fd = feeder_thread(ctx)
        if fd is not None:
            feeder = f"{fd.name} ({fd.os_tid})"
            ev.append(Evidence(f"feeding_thread_cpu_pct[{feeder}]", _pct(fd.cpu_fraction),
                               "% of a core", "proc"))
            ev.append(Evidence(f"feeding_thread_run_queue_wait_pct[{feeder}]",
                               _pct(fd.wait_fraction or 0.0), "%", "proc"))
            signals.add("proc")
            title = (f"{name} waits for data {_pct(top.blocked_ns / ctx.window_ns()):g}% of "
                     f"the time, while thread {feeder}, which makes no pad pushes, runs or "
                     f"waits for a core {_pct(wants(fd)):g}% of the time: the application "
                     "that feeds it cannot deliver faster")
            claim = f"The application thread {feeder} that feeds {name} limits throughput"
        else:
            title = (f"{name} waits for data {_pct(top.blocked_ns / ctx.window_ns()):g}% of the "
                     "time (I/O, network or a device) and delivers buffers slower than the "
                     "pipeline could take them")
            claim = f"The source {name} limits throughput"
    else:
        if pc is not None and pc >= PROC_BUSY:
            signals.add("proc")
        if act.basis == "exact" and act.threads[t].busy_fraction >= SATURATED:
            signals.add("tracer")
        title = (f"producing buffers takes {name} "
                 f"{_pct((top.wall_ns - top.wait_ns) / ctx.window_ns()):g}% of its thread's "
                 "time and the elements after it wait for data")
        claim = f"The source {name} cannot produce faster"
    # the feeder's own CPU: its wait for a core is the CPUs' cap, as for every stage
    fixes = predict.source_fixes(ctx, t, top, waits, feeder,
                                 fd.cpu_fraction if fd is not None and waits else None)
    return Finding(
        code="source-bound",
        title=title,
        severity="critical",
        subject=name,
        evidence=ev,
        fix=fixes[0].text,
        predicted_fps=_upper(fixes),
        confidence=confidence(signals),
        kind="source",
        element=name,
        thread=ctx.thread_name(t),
        claim=claim,
        fixes=fixes,
    )
