"""Reader for RUN/samples/proc.jsonl (pipesight's /proc sampler)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from pipesight.trace import CpuSamples


def read(path: Path, monotonic_offset_ns: int | None) -> tuple[CpuSamples | None, list[str]]:
    if not path.exists():
        return None, []
    ts, tid, cpu, wait = [], [], [], []
    names: dict[int, str] = {}
    start_ticks: dict[int, int] = {}
    ncpu, interval, machine = 0, 0.1, 0
    boot_minus_mono, clk_tck = None, 0
    sys_ts, sys_busy, sys_total = [], [], []
    bad = 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                bad += 1
                continue
            t = d.get("t")
            if t == "s":
                ts.append(d["ts"])
                tid.append(d["tid"])
                cpu.append(d["cpu"])
                wait.append(d["wait"])
            elif t == "sys":
                sys_ts.append(d["ts"])
                sys_busy.append(d["busy"])
                sys_total.append(d["total"])
            elif t == "thread":
                names[int(d["tid"])] = str(d.get("name", ""))
                if isinstance(d.get("start_ticks"), int):
                    start_ticks[int(d["tid"])] = d["start_ticks"]
            elif t == "header":
                ncpu = int(d.get("ncpu", 0))
                interval = float(d.get("interval_s", 0.1))
                machine = int(d.get("machine_cpus") or 0)
                boot_minus_mono = d.get("boottime_minus_monotonic_ns")
                clk_tck = int(d.get("clk_tck") or 0)
    notes = [f"{path.name}: skipped {bad} unreadable lines"] if bad else []
    if not ts:
        return None, notes
    if monotonic_offset_ns is None:
        return None, [*notes, f"{path.name}: no clock reference to align the samples; unused"]
    return CpuSamples(
        ts=np.array(ts, np.int64) - monotonic_offset_ns,
        os_tid=np.array(tid, np.int64),
        cpu_ns=np.array(cpu, np.int64),
        wait_ns=np.array(wait, np.int64),
        names=names,
        ncpu=ncpu,
        interval_s=interval,
        machine_cpus=machine or ncpu,
        sys_ts=np.array(sys_ts, np.int64) - monotonic_offset_ns,
        sys_busy=np.array(sys_busy, np.int64),
        sys_total=np.array(sys_total, np.int64),
        started=_started(start_ticks, boot_minus_mono, clk_tck, monotonic_offset_ns),
        start_resolution_ns=1_000_000_000 // clk_tck if clk_tck > 0 else 0,
    ), notes


def _started(ticks: dict[int, int], boot_minus_mono: object, clk_tck: int, offset: int
             ) -> dict[int, int]:
    """Each thread's start on the tracer clock (ticks since boot, the clocks' difference as
    the sampler read them)."""
    if not isinstance(boot_minus_mono, int) or clk_tck <= 0:
        return {}
    return {tid: n * 1_000_000_000 // clk_tck - boot_minus_mono - offset
            for tid, n in ticks.items()}
