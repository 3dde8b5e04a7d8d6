"""Predict the fix, not the removal: each change a verdict proposes gets the rate the stage
model (metrics/stages.py) gives after that change, capped by the other stages, the CPUs and a
live source's rate; where the model cannot put a number on it, it says why instead.

Splitting a thread with a queue moves an element's time to a stage of its own (fps / share,
capped); making it cheaper takes time away from its stage and CPU away from the frame; removing
it entirely is only an upper bound.
"""

from __future__ import annotations

from pipesight.analyses import knob_advice
from pipesight.analyses.context import Context
from pipesight.analyses.knob_advice import Advice
from pipesight.findings import Fix
from pipesight.metrics.activity import ElementThreadTime
from pipesight.metrics.stages import INTERFERENCE, Ceiling, StageModel

SHARED = 0.05  # other elements' share of a thread's busy time that a queue would take off it
CHEAPER = 0.5  # "cheaper" is predicted at half the element's time per buffer


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _basis(c: Ceiling, how: str) -> str:
    return f"{how}; limited by {c.limited_by}" if c.limited_by else how


def _ratio(model: StageModel, t: int) -> float:
    st = model.stages.get(t)
    return st.ratio if st is not None else 1.0


def own_work(model: StageModel, t: int, v: ElementThreadTime) -> float:
    """The element's share of its stage's work: its busy time, less its share of the thread's
    wait for a core."""
    return float(v.wall_ns - v.wait_ns) * _ratio(model, t)


def _computing_ns(model: StageModel, t: int, v: ElementThreadTime) -> float:
    # the element's time that would leave the CPU with it: not waiting on a queue, not blocked
    return float(max(v.wall_ns - v.wait_ns - v.blocked_ns, 0)) * _ratio(model, t)


def removal(model: StageModel, t: int, v: ElementThreadTime, worker_cores: float = 0.0
            ) -> Ceiling:
    """Upper bound: the element's own time and CPU gone from its stage (and the CPU of its
    worker threads, ``worker_cores``, from the frame)."""
    work = model.work()
    work[t] = max(work.get(t, 0.0) - own_work(model, t, v), 0.0)
    cpf = _cpu_less(model, _computing_ns(model, t, v) + worker_cores * model.window_ns)
    return model.ceiling(work, cpu_per_frame_s=cpf, upper=True)


def _cpu_less(model: StageModel, ns: float) -> float | None:
    if model.cpu_per_frame_s is None or not model.frames:
        return None
    return max(model.cpu_per_frame_s - ns / 1e9 / model.frames, 0.0)


def element_fixes(ctx: Context, t: int, v: ElementThreadTime, others: list[ElementThreadTime],
                  waits: bool, worker_cores: float = 0.0) -> list[Fix]:
    """``others``: other elements' time on thread t; ``worker_cores``: the CPU of threads of
    its own it waits for."""
    model = ctx.metrics.stages
    name = ctx.name(v.element)
    if model is None:
        return [Fix("cheaper", f"Make {name} cheaper.", basis="no exact timing to predict from")]
    own = own_work(model, t, v)
    fixes: list[Fix] = []
    if waits:
        fixes.append(Fix("find-wait", f"Find what {name} waits for (GPU synchronisation, a "
                         "device, a lock); a profile with --nsys shows GPU work.",
                         basis="the model cannot tell how much of the wait would go"))
    else:
        fixes += _split(ctx, model, t, v, others)
    if not waits:
        work = model.work()
        work[t] = max(work.get(t, 0.0) - CHEAPER * own, 0.0)
        c = model.ceiling(work, cpu_per_frame_s=_cpu_less(
            model, CHEAPER * _computing_ns(model, t, v)))
        fixes.append(Fix("cheaper", f"Make {name} cheaper: smaller frames, a faster setting or "
                         "implementation, hardware offload.", _r(c.fps),
                         "rate" if c.fps else None,
                         _basis(c, f"predicted at half its time per buffer "
                                f"({_ms((v.wall_ns - v.wait_ns) / max(v.buffers, 1))} ms "
                                "now)")))
    c = removal(model, t, v, worker_cores)
    fixes.append(Fix("remove", f"Upper bound: {name} costing nothing.", _r(c.fps),
                     "upper" if c.fps else None,
                     _basis(c, "its own time and CPU gone, the other stages at their least cost "
                            f"and up to x{INTERFERENCE:g} faster without it beside them")
                     if c.fps else
                     "nothing else bounds it: the rest of the pipeline costs too little to "
                     "measure a limit"))
    return fixes


def knob_fixes(ctx: Context, t: int, v: ElementThreadTime, advice: list[Advice]) -> list[Fix]:
    """The element's own properties to change (analyses/knob_advice.py), each with the rate
    the stage model gives: more threads split its time per buffer over them (at best: the
    same CPU, spread), skipping inferences takes that share of its time and CPU away; a
    setting's saving cannot be told beforehand."""
    model = ctx.metrics.stages
    name = ctx.name(v.element)
    out = []
    for a in advice:
        f = Fix("set-property", a.text(name),
                basis="the model cannot tell how much a setting saves: `pipesight compare` "
                "measures it")
        if model is not None and a.before and a.after and a.knob.effect in ("threads", "skip"):
            keep = a.before / a.after  # of its time per buffer on the streaming thread
            work = model.work()
            work[t] = max(work.get(t, 0.0) - (1.0 - keep) * own_work(model, t, v), 0.0)
            if a.knob.effect == "threads":
                c = model.ceiling(work)
                how = (f"its time per buffer split over {a.after} threads instead of "
                       f"{a.before} (if it scaled perfectly), its CPU the same")
            else:
                c = model.ceiling(work, cpu_per_frame_s=_cpu_less(
                    model, (1.0 - keep) * _computing_ns(model, t, v)))
                how = f"its time and CPU on {a.before} buffer of every {a.after}"
            f.predicted_fps, f.bound = _r(c.fps), "rate" if c.fps else None
            f.basis = _basis(c, how)
        out.append(f)
    return out


def _split(ctx: Context, model: StageModel, t: int, v: ElementThreadTime,
           others: list[ElementThreadTime]) -> list[Fix]:
    """A queue that gives the element a thread of its own, on the side where the other work
    is: before it for work upstream on its thread (unless a queue is there already: that
    advice was followed), after it for work downstream. The new thread takes the element and
    what follows it; the old one keeps what comes before."""
    name = ctx.name(v.element)
    mine = float(v.wall_ns - v.wait_ns)
    up_ns = sum(float(r.wall_ns - r.wait_ns) for r in others
                if ctx.is_upstream(r.element, v.element))
    down_ns = sum(float(r.wall_ns - r.wait_ns) for r in others) - up_ns
    busy = mine + up_ns + down_ns
    ratio = _ratio(model, t)
    fixes = []
    fq = ctx.feeding_queue(t)
    queued = fq is not None and fq in ctx.upstream_of(ctx.anchor(v.element)[0], direct=True)
    if up_ns / busy >= SHARED and not queued:
        work = model.work()
        work[t] = max(work.get(t, 0.0) - (mine + down_ns) * ratio, 0.0)
        c = model.ceiling(work, extra=[(name, (mine + down_ns) * ratio)])
        fixes.append(Fix("queue-before", f"Put a queue before {name}: it shares streaming "
                         f"thread {ctx.thread_name(t)} with work upstream of it "
                         f"({100 * up_ns / busy:.0f}% of the thread's busy time).",
                         _r(c.fps), "rate" if c.fps else None,
                         _basis(c, f"{name} and what follows it on a new thread; the thread "
                                "keeps the work before it")))
    if down_ns / busy >= SHARED:
        work = model.work()
        work[t] = max(work.get(t, 0.0) - down_ns * ratio, 0.0)
        c = model.ceiling(work, extra=[(f"the work after {name}", down_ns * ratio)])
        fixes.append(Fix("queue-after", f"Put a queue after {name}: it shares streaming "
                         f"thread {ctx.thread_name(t)} with work downstream of it "
                         f"({100 * down_ns / busy:.0f}% of the thread's busy time).",
                         _r(c.fps), "rate" if c.fps else None,
                         _basis(c, f"what follows {name} on a new thread; the thread keeps "
                                f"{name} and the work before it")))
    return fixes


def source_fixes(ctx: Context, t: int, v: ElementThreadTime, waits: bool, feeder: str | None,
                 feeder_load: float | None = None) -> list[Fix]:
    """``feeder_load``: the share of a core the application thread feeding the source ran (its
    CPU time); it is a stage of its own, outside the streaming threads."""
    model = ctx.metrics.stages
    name = ctx.name(v.element)
    if waits:
        what = (f"the application thread {feeder} that feeds it" if feeder else
                "what it reads from: storage, network bandwidth, the capture device")
        first = Fix("feed-faster", f"Speed up {what}.",
                    basis="the model cannot tell how much faster the feed can be")
        if model is not None and feeder_load:
            own = feeder_load * model.window_ns
            work = model.work()
            work[t] = max(work.get(t, 0.0) - own_work(model, t, v), 0.0)
            c = model.ceiling(work, extra=[(feeder or "the feeder", CHEAPER * own)],
                              cpu_per_frame_s=_cpu_less(model, CHEAPER * feeder_load
                                                        * model.window_ns))
            first.predicted_fps, first.bound = _r(c.fps), "rate" if c.fps else None
            first.basis = _basis(c, "the application thread at half its time per frame")
    else:
        first = Fix("cheaper", f"Make {name} cheaper (simpler pattern, smaller frames, a faster "
                    "reader) or add sources in parallel.",
                    basis="the model cannot tell how much cheaper it can be made")
    if model is None:
        return [first]
    if not waits:
        work = model.work()
        work[t] = max(work.get(t, 0.0) - CHEAPER * own_work(model, t, v), 0.0)
        c = model.ceiling(work, cpu_per_frame_s=_cpu_less(
            model, CHEAPER * _computing_ns(model, t, v)))
        first.predicted_fps, first.bound = _r(c.fps), "rate" if c.fps else None
        first.basis = _basis(c, "predicted at half its time per buffer")
    c = removal(model, t, v)
    if waits and feeder_load:  # the feeder's CPU goes with it
        work = model.work()
        work[t] = max(work.get(t, 0.0) - own_work(model, t, v), 0.0)
        c = model.ceiling(work, cpu_per_frame_s=_cpu_less(model, feeder_load * model.window_ns),
                          upper=True)
    return [first, Fix("remove", f"Upper bound: {name} delivering instantly.", _r(c.fps),
                       "upper" if c.fps else None,
                       _basis(c, "its time gone from its thread") if c.fps else
                       "nothing else bounds it")]


def unpaced(ctx: Context) -> Ceiling | None:
    """The pipeline's capacity with no live source and no sink waiting for the clock."""
    model = ctx.metrics.stages
    if model is None:
        return None
    return model.ceiling(model.work(), live=False)


def sync_fixes(ctx: Context, sink: int) -> list[Fix]:
    c = unpaced(ctx)
    fps = None if c is None else _r(c.fps)
    text = knob_advice.words(ctx, sink, "sync") or (
        f"For a throughput run set sync=false on {ctx.name(sink)} (e.g. fakesink sync=false); "
        "keep sync=true only where frames must be shown in real time.")
    return [Fix("sync-false", text, fps, "rate" if fps else None,
                _basis(c, "every stage's time without the clock wait") if c else
                "no exact timing to predict from")]


def cpu_fixes(ctx: Context) -> list[Fix]:
    model = ctx.metrics.stages
    basis = "the model cannot predict a CPU fix: the rate follows usable cores / CPU per frame"
    if model is not None and model.cpu_per_frame_s and model.cores:
        basis += (f" (now {model.cores:.1f} cores / {1e3 * model.cpu_per_frame_s:.3g} ms = "
                  f"{model.cores / model.cpu_per_frame_s:.0f} fps): each 10% less CPU per "
                  "frame gives about 11% more")
    return [Fix("reduce-cpu", "Reduce the total CPU work (cheaper elements, smaller frames, "
                "hardware offload such as decoding or scaling on a GPU/VPU) or run on more "
                "cores.", basis=basis)]


def _ms(ns: float) -> str:
    return f"{ns / 1e6:.3g}"
