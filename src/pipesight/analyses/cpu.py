"""All cores saturated by several threads together: no single element is the limit."""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding

CORES_USED = 0.85  # of the CPUs the target may use
MIN_THREADS = 2
THREAD_LOAD = 0.25  # a thread counts as busy above this share of a core
RUN_WAIT = 0.2  # busy threads' summed time waiting for a CPU, in cores
PREEMPTED = 0.75  # CPU time under this share of busy wall time on busy threads


def analyze(ctx: Context) -> list[Finding]:
    act = ctx.metrics.activity
    cpu = ctx.metrics.cpu
    ncpu = cpu.ncpu if cpu else int(ctx.trace.run.get("host", {}).get("cpus_allowed", 0) or 0)
    if ncpu <= 0:
        return []
    ev: list[Evidence] = [Evidence("cpus_available", ncpu, "cores", "proc" if cpu else "manifest")]
    signals: set[str] = set()
    heavy: list[tuple[str, float]] = []
    if cpu is not None:
        busy = [t for t in cpu.threads.values() if t.cpu_fraction >= THREAD_LOAD]
        waiting = sum(t.wait_fraction or 0.0 for t in busy)
        ev += [
            Evidence("cores_used", round(cpu.total_cores, 2), "cores", "proc"),
            Evidence("busy_threads", len(busy), "threads", "proc"),
            Evidence("busy_threads_run_queue_wait", round(waiting, 2), "cores", "proc"),
        ]
        heavy = sorted(((t.name, t.cpu_fraction) for t in busy), key=lambda x: -x[1])
        if (cpu.total_cores >= CORES_USED * ncpu and len(busy) >= MIN_THREADS
                and waiting >= RUN_WAIT):
            signals.add("proc")
    if act is not None and act.basis == "exact":
        W = ctx.window_ns()
        busy_t = [tt for tt in act.threads.values() if tt.busy_fraction >= 0.6]
        wall = sum(tt.covered_ns - tt.wait_ns for tt in busy_t)
        cpu_ns = sum(tt.cpu_ns for tt in busy_t)
        tracer_cores = sum(tt.cpu_ns for tt in act.threads.values()) / W
        ev.append(Evidence("cores_used_by_streaming_threads", round(tracer_cores, 2), "cores",
                           "tracer"))
        if wall > 0:
            ev.append(Evidence("busy_threads_cpu_of_wall_pct", round(100 * cpu_ns / wall, 1), "%",
                               "tracer"))
        if (len(busy_t) >= MIN_THREADS and len(busy_t) > ncpu - 1 and wall > 0
                and cpu_ns / wall < PREEMPTED and tracer_cores >= CORES_USED * ncpu * 0.8):
            signals.add("tracer")
        if not heavy:
            heavy = sorted(((ctx.thread_name(tt.thread) or "?", tt.cpu_ns / W) for tt in busy_t),
                           key=lambda x: -x[1])
    if not signals:
        return []
    names = ", ".join(f"{n} {100 * c:.0f}%" for n, c in heavy[:4])
    return [
        Finding(
            code="cpu-saturated",
            title=(f"All {ncpu} CPU cores are saturated by several streaming threads together "
                   f"({names}); threads wait for a core, so no single element is the limit"),
            severity="critical",
            subject=f"{ncpu} CPUs",
            evidence=ev,
            fix=("Reduce the total CPU work (cheaper elements, smaller frames, hardware offload "
                 "such as decoding or scaling on a GPU/VPU) or run on more cores."),
            confidence="confirmed" if len(signals) >= 2 else "suspected",
            kind="cpu",
            element=None,
            thread=None,
        )
    ]
