"""The stage model behind every prediction: each streaming thread is a stage whose capacity is
the pipeline's rate scaled by how much of the window it worked, and the CPUs bound the sum.

A stage's work is its busy time (not blocked on a queue) less its pacing: time blocked in a live
source waiting for the next frame or in a synchronising sink waiting for the clock, which a
faster pipeline would not spend. Its capacity is fps x window / work: the rate if it never
waited. A change is predicted by changing the stages' work (a queue before an element moves the
element's time to a new stage; a cheaper element takes time away) and taking the smallest
capacity, the CPUs' (usable cores / CPU seconds per frame) and a live source's rate.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics.activity import Activity
from pipesight.metrics.cpu import CpuSummary
from pipesight.metrics.live import LiveFeed, SinkClock
from pipesight.metrics.window import Window
from pipesight.trace import Trace

OTHERS_SIGNIFICANT = 0.5  # cores other processes take before they count against the pipeline
# a thread that blocks this little besides its pacing and its queues computes the rest of its
# busy time: the kernel's exact CPU time is then its work
OTHER_BLOCKING = 0.05
DROPPED_EXCESS = 1.2  # a thread handling this much more than reaches the sinks feeds drops
# An upper bound allows the other stages to get this much faster per frame once the bottleneck
# no longer runs beside them: stages on different cores share caches and memory bandwidth (and
# a VM's cores may share a physical one). Measured on the development VM (docs/benchmarks.md,
# what-if): jpegenc took 1.93 ms a frame beside a Lanczos scaler and 1.43 ms without (x1.35).
INTERFERENCE = 1.4


@dataclass
class Stage:
    thread: int
    busy_ns: int  # not blocked on a queue
    pacing_ns: int  # of busy: blocked in a live source or a synchronising sink
    # what a faster pipeline would still spend: busy less pacing less the time the kernel says
    # it waited for a core (contention is the CPUs' cap, not the stage's)
    work_ns: int = 0
    # buffers this stage handles per frame reaching the sinks, where more than that: a stage
    # whose extra output is dropped downstream (a leaky queue) would deliver all it makes
    scale: float = 1.0
    # its CPU time over the window (the kernel's)
    cpu_ns: float | None = None
    # the least it can cost, for upper bounds: a stage measured while it idles pays for
    # wake-ups, hand-overs and waits on buffer pools that vanish when the bottleneck goes
    floor_ns: float | None = None

    @property
    def ratio(self) -> float:
        """Work per ns of its elements' busy time: scales an element's time on this thread."""
        unpaced = self.busy_ns - self.pacing_ns
        return self.work_ns / unpaced if unpaced > 0 else 1.0


@dataclass
class Ceiling:
    fps: float | None  # None: nothing bounds it (or no throughput to scale)
    limited_by: str  # "thread NAME", "the CPUs", "the live source", ""


@dataclass
class StageModel:
    fps: float
    window_ns: int
    stages: dict[int, Stage] = field(default_factory=dict)
    cpu_per_frame_s: float | None = None  # CPU seconds the process tree spends per frame
    cpu_basis: str | None = None  # "proc" (kernel accounting) or "tracer"
    cores: float | None = None  # CPUs the pipeline may use, less what other processes take
    cores_allowed: float | None = None  # CPUs it may use: what an upper bound assumes
    live_fps: float | None = None  # the slowest live source's rate: nothing goes faster
    names: dict[int, str] = field(default_factory=dict)

    @property
    def frames(self) -> float:
        return self.fps * self.window_ns / 1e9

    def capacity(self, work_ns: float, scale: float = 1.0) -> float:
        return scale * self.fps * self.window_ns / work_ns if work_ns > 0 else math.inf

    def ceiling(self, work: dict[int, float], extra: list[tuple[str, float]] | None = None,
                cpu_per_frame_s: float | None = None, live: bool = True,
                upper: bool = False) -> Ceiling:
        """The pipeline's rate if the stages had ``work`` (ns over the window, per thread),
        plus ``extra`` new stages (name, work ns), at ``cpu_per_frame_s`` (default: as
        measured). ``live=False`` leaves out the live source's rate (what the pipeline could
        take, its capacity). ``upper``: an upper bound, which counts every CPU the pipeline may
        use (other processes yield some when it wants more)."""
        best, by = math.inf, ""
        k = INTERFERENCE if upper else 1.0
        for t, w in work.items():
            st = self.stages.get(t)
            if upper and st is not None and st.floor_ns is not None:
                w = min(w, st.floor_ns)
            c = k * self.capacity(w, st.scale if st is not None else 1.0)
            if c < best:
                best, by = c, f"thread {self.names.get(t, t)}"
        for name, w in extra or []:
            c = k * self.capacity(w)
            if c < best:
                best, by = c, f"{name} on a thread of its own"
        cpf = self.cpu_per_frame_s if cpu_per_frame_s is None else cpu_per_frame_s
        cores = self.cores_allowed if upper else self.cores
        if cpf and cpf > 0 and cores:
            c = k * cores / cpf
            if c < best:
                by = f"the CPUs ({cores:.1f} cores / {1e3 * cpf:.3g} ms of CPU per frame)"
                best = c
        if live and self.live_fps and self.live_fps < best:
            best, by = self.live_fps, "the live source's rate"
        return Ceiling(None if math.isinf(best) else best, by)

    def work(self) -> dict[int, float]:
        return {t: float(s.work_ns) for t, s in self.stages.items()}


def _kernel(t: int, cpu: CpuSummary | None, os_tids: dict[int, int], window_ns: int
            ) -> tuple[float, float] | None:
    """(CPU ns, run-queue wait ns) of thread t over the window, from /proc."""
    tid = os_tids.get(t)
    if cpu is None or tid is None or tid not in cpu.threads:
        return None
    tc = cpu.threads[tid]
    return tc.cpu_fraction * window_ns, (tc.wait_fraction or 0.0) * window_ns


def stage_model(act: Activity | None, fps: float | None, window_ns: int,
                cpu: CpuSummary | None, feeds: list[LiveFeed],
                clocks: dict[int, SinkClock], ncpu: int, names: dict[int, str],
                os_tids: dict[int, int] | None = None,
                dropped_rates: dict[int, float] | None = None) -> StageModel | None:
    """``dropped_rates``: buffers per second of the threads whose output is partly dropped
    downstream (only where something drops)."""
    if act is None or act.basis != "exact" or not fps:
        return None
    os_tids = os_tids or {}
    live = {f.element for f in feeds}
    syncing = {e for e, c in clocks.items() if c.sync is True}
    m = StageModel(fps=fps, window_ns=window_ns, names=names)
    for t, tt in act.threads.items():
        pacing = sum(v.blocked_ns for (e, th), v in act.per.items()
                     if th == t and (e in syncing or (e in live and v.role == "produce")))
        busy = max(tt.covered_ns - tt.wait_ns, 0)
        st = Stage(t, busy, pacing, max(busy - pacing, 0))
        # the least it can cost: its elements' time without the queues' hand-overs, and a
        # source without its waits in `create` (a buffer pool, upstream), which go with the
        # bottleneck; an element's own blocking (a device, the GPU) stays, it does not
        st.floor_ns = float(sum(max(v.wall_ns - v.wait_ns - (v.blocked_ns if v.role ==
                                                             "produce" else 0), 0)
                                for (_, th), v in act.per.items()
                                if th == t and v.role in ("process", "produce")))
        kernel = _kernel(t, cpu, os_tids, window_ns)
        # blocked besides its pacing and its waits on queues (already out of busy)
        other_blocked = sum(max(v.blocked_ns - v.wait_ns, 0)
                            for (_, th), v in act.per.items() if th == t) - pacing
        if kernel is not None:
            run_cpu, run_wait = kernel
            st.cpu_ns = run_cpu
            st.work_ns = int(max(st.work_ns - run_wait, 0))
            if other_blocked <= OTHER_BLOCKING * busy:
                # it computes whenever it is busy: its CPU time is its work, and the kernel
                # counts it exactly where the tracer splits a waiting thread's CPU between
                # calls by when it read its clock
                st.work_ns = int(min(run_cpu, busy))
        rate = (dropped_rates or {}).get(t)
        if rate is not None and rate > DROPPED_EXCESS * fps:
            st.scale = rate / fps
        m.stages[t] = st
    frames = fps * window_ns / 1e9
    if cpu is not None and cpu.total_cores > 0:
        used = cpu.total_cores
        for t, st in m.stages.items():
            tc = cpu.threads.get(os_tids.get(t, -1))
            if st.scale > 1.0 and tc is not None:
                # its CPU for buffers dropped later is not a cost of the frames delivered
                used -= tc.cpu_fraction * (1.0 - 1.0 / st.scale)
        m.cpu_per_frame_s, m.cpu_basis = used * window_ns / 1e9 / frames, "proc"
    elif act.threads:
        total = sum(tt.cpu_ns for tt in act.threads.values())
        if total > 0:
            m.cpu_per_frame_s, m.cpu_basis = total / 1e9 / frames, "tracer"
    cores = float(cpu.ncpu if cpu is not None else ncpu)
    m.cores_allowed = cores if cores > 0 else None
    if cpu is not None and cpu.machine_busy_cores is not None:
        others = max(cpu.machine_busy_cores - cpu.total_cores, 0.0)
        if others >= OTHERS_SIGNIFICANT:
            # predictions hold for the machine as it was: what others took stays taken
            cores = max(min(cores, cpu.machine_cpus - others), 1.0)
    m.cores = cores if cores > 0 else None
    rates = [f.nominal_fps or f.fps for f in feeds if (f.nominal_fps or f.fps)]
    m.live_fps = min(rates) if rates else None
    return m


def thread_rates(trace: Trace, w: Window) -> dict[int, float]:
    """Buffers per second each thread pushes from its own loop (top-level pushes)."""
    fr = trace.frames
    if fr is None or w.seconds <= 0:
        return {}
    sel = (fr.depth == 1) & (fr.mode == 0) & w.contains(fr.start)
    out: dict[int, float] = {}
    for t in np.unique(fr.thread[sel]).tolist():
        out[int(t)] = float(fr.count[sel & (fr.thread == t)].sum()) / w.seconds
    return out
