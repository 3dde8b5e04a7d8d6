"""The CPUs themselves are the limit: the target's busy threads are runnable but wait for a
core, because its own threads together want more cores than it may use, or because other
processes take them."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding

CORES_USED = 0.85  # of the CPUs the target may use, busy (by it or by others)
THREAD_LOAD = 0.5  # a thread wanting more than this share of a core (running + waiting)
RUN_WAIT = 0.2  # busy threads' summed time waiting for a CPU, in cores
PREEMPTED = 0.2  # share of busy threads' time spent runnable but preempted (tracer)


def analyze(ctx: Context) -> list[Finding]:
    act = ctx.metrics.activity
    cpu = ctx.metrics.cpu
    ncpu = cpu.ncpu if cpu else int(ctx.trace.run.get("host", {}).get("cpus_allowed", 0) or 0)
    if ncpu <= 0:
        return []
    ev: list[Evidence] = [Evidence("cpus_available", ncpu, "cores", "proc" if cpu else "manifest")]
    signals: set[str] = set()
    heavy: list[tuple[str, float]] = []
    others = None
    demand = None  # cores the target's threads want: running plus waiting to run
    if cpu is not None:
        busy = [t for t in cpu.threads.values()
                if t.cpu_fraction + (t.wait_fraction or 0.0) >= THREAD_LOAD]
        waiting = sum(t.wait_fraction or 0.0 for t in busy)
        ev += [
            Evidence("cores_used_by_target", round(cpu.total_cores, 2), "cores", "proc"),
            Evidence("busy_threads", len(busy), "threads", "proc"),
            Evidence("busy_threads_run_queue_wait", round(waiting, 2), "cores", "proc"),
        ]
        # a thread wants at most one core; one that hardly runs is a bystander
        demand = sum(min(1.0, t.cpu_fraction + (t.wait_fraction or 0.0))
                     for t in cpu.threads.values() if t.cpu_fraction >= 0.05)
        ev.append(Evidence("cores_wanted_by_target", round(demand, 2), "cores", "proc"))
        saturated = cpu.total_cores >= CORES_USED * ncpu
        if cpu.machine_busy_cores is not None:
            ev.append(Evidence("machine_cores_busy", round(cpu.machine_busy_cores, 2), "cores",
                               "proc"))
            others = max(cpu.machine_busy_cores - cpu.total_cores, 0.0)
            saturated = saturated or cpu.machine_busy_cores >= CORES_USED * cpu.machine_cpus
        heavy = sorted(((t.name, t.cpu_fraction) for t in busy), key=lambda x: -x[1])
        if saturated and busy and waiting >= RUN_WAIT:
            signals.add("proc")
    if act is not None and act.basis == "exact":
        busy_t = [tt for tt in act.threads.values() if tt.busy_fraction >= 0.6]
        wall = sum(tt.covered_ns - tt.wait_ns for tt in busy_t)
        preempted = sum(tt.preempted_ns for tt in busy_t)
        if wall > 0:
            ev.append(Evidence("busy_threads_preempted_pct", round(100 * preempted / wall, 1),
                               "%", "tracer"))
            if preempted / wall >= PREEMPTED:
                signals.add("tracer")
        if not heavy:
            W = ctx.window_ns()
            heavy = sorted(((ctx.thread_name(tt.thread) or "?", tt.cpu_ns / W) for tt in busy_t),
                           key=lambda x: -x[1])
    if not signals:
        return []
    names = ", ".join(f"{n} {100 * c:.0f}%" for n, c in heavy[:4])
    # the pipeline's own doing: it uses the cores itself, or more of its streaming threads are
    # saturated (never waiting on a queue) than there are cores. Threads wanting to run are not
    # enough: other processes make every runnable thread wait longer.
    own = demand is None
    if cpu is not None:
        own = cpu.total_cores >= CORES_USED * ncpu
    if act is not None and act.basis == "exact":
        saturated = sum(1 for tt in act.threads.values() if tt.busy_fraction >= 0.9)
        ev.append(Evidence("saturated_streaming_threads", saturated, "threads", "tracer"))
        own = own or saturated > ncpu
    elif demand is not None:
        own = own or demand > ncpu
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
            confidence="confirmed" if len(signals) >= 2 else "suspected",
        )]
    if others is not None and others >= 0.5:
        why = (f"other processes on the machine take {others:.1f} of its "
               f"{cpu.machine_cpus} cores")
        fix = ("Run the pipeline on a quieter machine or give it dedicated cores; its own "
               "threads wait for a CPU most of the time.")
    else:
        why = "its own streaming threads together want more cores than it may use"
        fix = ("Reduce the total CPU work (cheaper elements, smaller frames, hardware offload "
               "such as decoding or scaling on a GPU/VPU) or run on more cores.")
    return [
        Finding(
            code="cpu-saturated",
            title=(f"The CPUs are the limit: the pipeline's busy threads ({names}) wait for a "
                   f"core, because {why}; no single element is the limit"),
            severity="critical",
            subject=f"{ncpu} CPUs",
            evidence=ev,
            fix=fix,
            confidence="confirmed" if len(signals) >= 2 else "suspected",
            kind="cpu",
            element=None,
            thread=None,
        )
    ]
