"""Kernel accounting of the target's threads over the window: CPU time and time waiting to
run (from /proc samples)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics.window import Window
from pipesight.trace import Trace


@dataclass
class ThreadCpu:
    os_tid: int
    name: str
    cpu_fraction: float  # of one core, over the window
    wait_fraction: float | None  # runnable but not running, of the window


@dataclass
class CpuSummary:
    ncpu: int
    threads: dict[int, ThreadCpu]  # by os tid
    total_cores: float  # CPU used by all sampled threads, in cores
    covered_s: float  # window time the samples span
    machine_cpus: int = 0
    machine_busy_cores: float | None = None  # every process on the machine, in cores


def cpu_summary(trace: Trace, w: Window) -> CpuSummary | None:
    cs = trace.cpu
    if cs is None or cs.ts.shape[0] == 0:
        return None
    out: dict[int, ThreadCpu] = {}
    covered = 0.0
    for tid in np.unique(cs.os_tid).tolist():
        sel = cs.os_tid == tid
        ts, cpu, wait = cs.ts[sel], cs.cpu_ns[sel], cs.wait_ns[sel]
        inw = (ts >= w.start) & (ts <= w.end)
        if inw.sum() < 2:
            continue
        ts, cpu, wait = ts[inw], cpu[inw], wait[inw]
        span = int(ts[-1] - ts[0])
        if span <= 0:
            continue
        covered = max(covered, span / 1e9)
        wf = float((wait[-1] - wait[0]) / span) if wait[0] >= 0 and wait[-1] >= 0 else None
        out[int(tid)] = ThreadCpu(
            os_tid=int(tid),
            name=cs.names.get(int(tid), str(tid)),
            cpu_fraction=float((cpu[-1] - cpu[0]) / span),
            wait_fraction=wf,
        )
    if not out:
        return None
    machine_busy = None
    sel = (cs.sys_ts >= w.start) & (cs.sys_ts <= w.end)
    if sel.sum() >= 2:
        b, t = cs.sys_busy[sel], cs.sys_total[sel]
        if t[-1] > t[0]:
            machine_busy = float((b[-1] - b[0]) / (t[-1] - t[0])) * (cs.machine_cpus or cs.ncpu)
    return CpuSummary(
        ncpu=cs.ncpu,
        threads=out,
        total_cores=float(sum(t.cpu_fraction for t in out.values())),
        covered_s=covered,
        machine_cpus=cs.machine_cpus or cs.ncpu,
        machine_busy_cores=machine_busy,
    )
