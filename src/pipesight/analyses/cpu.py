"""The CPUs themselves are the limit: the target's busy threads are runnable but wait for a
core, because its own threads together want more cores than it may use, or because other
processes take them.

Waiting for a core is measured where the kernel measures it: schedstat's run_delay (time
runnable on a run queue), sampled per thread from /proc. A thread's wall time minus its CPU time
is not preemption: off the CPU inside an element a thread mostly blocks (a lock, a device,
cudaStreamSynchronize, I/O), and a thread blocked waiting on the GPU is no demand for a core.
The tracer's part is demand: the streaming threads' busy time less the time they blocked
inside elements, summed, against the cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipesight.analyses import predict
from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding, confidence

CORES_USED = 0.85  # of the CPUs the target may use, busy (by it or by others)
THREAD_LOAD = 0.5  # a thread wanting more than this share of a core (running + waiting)
RUN_WAIT = 0.2  # busy threads' summed time waiting for a CPU (run_delay), in cores
# streaming threads' runnable time (busy, not blocked), in cores beyond the cores there are:
# only then must some of them have waited for a core
DEMAND_OVER = 0.5
SATURATED = 0.9


@dataclass
class _Load:
    """What the kernel's accounting (/proc) and the tracer say about the CPUs' load."""

    ev: list[Evidence]
    signals: set[str] = field(default_factory=set)
    heavy: list[tuple[str, float]] = field(default_factory=list)  # busy threads, share of a core
    others: float | None = None  # cores other processes take
    want: float | None = None  # cores the target's threads want: running plus waiting (proc)
    demand: float | None = None  # streaming threads' runnable time, in cores (tracer)
    saturated_threads: int = 0


def _proc_load(ctx: Context, ncpu: int, load: _Load) -> None:
    cpu = ctx.metrics.cpu
    if cpu is None:
        return
    busy = [t for t in cpu.threads.values()
            if t.cpu_fraction + (t.wait_fraction or 0.0) >= THREAD_LOAD]
    waiting = sum(t.wait_fraction or 0.0 for t in busy)
    wanted = sum(t.cpu_fraction + (t.wait_fraction or 0.0) for t in busy)
    load.ev += [
        Evidence("cores_used_by_target", round(cpu.total_cores, 2), "cores", "proc"),
        Evidence("busy_threads", len(busy), "threads", "proc"),
        Evidence("busy_threads_run_queue_wait", round(waiting, 2), "cores", "proc"),
    ]
    if wanted > 0:
        load.ev.append(Evidence("busy_threads_run_queue_wait_pct",
                                round(100 * waiting / wanted, 1), "%", "proc"))
    # a thread wants at most one core; one that hardly runs is a bystander
    load.want = sum(min(1.0, t.cpu_fraction + (t.wait_fraction or 0.0))
                    for t in cpu.threads.values() if t.cpu_fraction >= 0.05)
    load.ev.append(Evidence("cores_wanted_by_target", round(load.want, 2), "cores", "proc"))
    saturated = cpu.total_cores >= CORES_USED * ncpu
    if cpu.machine_busy_cores is not None:
        load.ev.append(Evidence("machine_cores_busy", round(cpu.machine_busy_cores, 2), "cores",
                                "proc"))
        load.others = max(cpu.machine_busy_cores - cpu.total_cores, 0.0)
        saturated = saturated or cpu.machine_busy_cores >= CORES_USED * cpu.machine_cpus
    load.heavy = sorted(((t.name, t.cpu_fraction) for t in busy), key=lambda x: -x[1])
    if saturated and busy and waiting >= RUN_WAIT:
        load.signals.add("proc")


def _tracer_load(ctx: Context, ncpu: int, load: _Load) -> None:
    act = ctx.metrics.activity
    if act is None or act.basis != "exact":
        return
    W = ctx.window_ns()
    # runnable time of each streaming thread: busy, less what it blocked inside elements
    blocked: dict[int, int] = {}
    for (_, t), v in act.per.items():
        blocked[t] = blocked.get(t, 0) + v.blocked_ns
    runnable = {t: max(tt.covered_ns - tt.wait_ns - blocked.get(t, 0), 0) / W
                for t, tt in act.threads.items()}
    load.demand = sum(runnable.values())
    load.saturated_threads = sum(1 for r in runnable.values() if r >= SATURATED)
    load.ev.append(Evidence("streaming_threads_runnable", round(load.demand, 2), "cores",
                            "tracer"))
    load.ev.append(Evidence("saturated_streaming_threads", load.saturated_threads, "threads",
                            "tracer"))
    if load.demand >= ncpu + DEMAND_OVER:
        load.signals.add("tracer")
    if not load.heavy:
        load.heavy = sorted(((ctx.thread_name(t) or "?", r) for t, r in runnable.items()
                             if r >= THREAD_LOAD), key=lambda x: -x[1])


def analyze(ctx: Context) -> list[Finding]:
    cpu = ctx.metrics.cpu
    ncpu = cpu.ncpu if cpu else int(ctx.trace.run.get("host", {}).get("cpus_allowed", 0) or 0)
    if ncpu <= 0:
        return []
    load = _Load([Evidence("cpus_available", ncpu, "cores", "proc" if cpu else "manifest")])
    _proc_load(ctx, ncpu, load)
    _tracer_load(ctx, ncpu, load)
    return _judge(ctx, ncpu, load)


def _judge(ctx: Context, ncpu: int, load: _Load) -> list[Finding]:
    cpu = ctx.metrics.cpu
    ev, signals, heavy, others = load.ev, load.signals, load.heavy, load.others
    demand, want, saturated_threads = load.demand, load.want, load.saturated_threads
    if not signals:
        return []
    names = ", ".join(f"{n} {100 * c:.0f}%" for n, c in heavy[:4])
    # the pipeline's own doing: it uses the cores itself, or its streaming threads want more
    # cores than it has. Threads merely waiting to run are not enough: other processes make
    # every runnable thread wait longer.
    own = (cpu is not None and cpu.total_cores >= CORES_USED * ncpu) or \
        (demand is not None and demand > ncpu) or saturated_threads > ncpu or \
        (demand is None and want is not None and want > ncpu)
    if cpu is not None and others is not None and others >= 0.5 and not own:
        # not the pipeline's own doing: say so, and leave the verdict to its limiting stage
        return [Finding(
            code="cpu-contention",
            title=(f"Other processes take {others:.1f} of the machine's {cpu.machine_cpus} cores:"
                   f" the pipeline's busy threads ({names}) wait for a CPU, so every rate "
                   "measured here is lower than on a quiet machine"),
            severity="warning",
            subject="machine",
            evidence=ev,
            fix="Profile on a quiet machine or on dedicated cores (taskset) for numbers that "
                "compare.",
            confidence=confidence(signals),
        )]
    if others is not None and others >= 0.5 and cpu is not None:
        why = (f"other processes on the machine take {others:.1f} of its "
               f"{cpu.machine_cpus} cores")
    else:
        why = "its own streaming threads together want more cores than it may use"
    fixes = predict.cpu_fixes(ctx)
    if others is not None and others >= 0.5:
        fixes[0].text = ("Run the pipeline on a quieter machine or give it dedicated cores; its "
                         "own threads wait for a CPU most of the time. " + fixes[0].text)
    return [
        Finding(
            code="cpu-saturated",
            title=f"The pipeline's busy threads ({names}) wait for a core, because {why}",
            severity="critical",
            subject=f"{ncpu} CPUs",
            evidence=ev,
            fix=fixes[0].text,
            confidence=confidence(signals),
            kind="cpu",
            element=None,
            thread=None,
            claim="The CPUs are the limit, no single element",
            fixes=fixes,
        )
    ]
