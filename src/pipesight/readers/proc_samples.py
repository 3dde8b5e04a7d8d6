"""Reader for RUN/samples/proc.jsonl (pipesight's /proc sampler)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipesight.readers.checks import MAX_U32, is_int, is_number, json_object, text
from pipesight.trace import CpuSamples

MAX_CPUS = 1 << 16


def _all_ints(d: dict[str, Any], keys: tuple[str, ...]) -> bool:
    """Counters and clocks: non-negative integers a nanosecond clock can hold."""
    return all(is_int(d.get(k)) for k in keys)


def read(path: Path, monotonic_offset_ns: int | None) -> tuple[CpuSamples | None, list[str]]:
    if not path.is_file():
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
            d = json_object(line)
            t = d.get("t") if d is not None else None
            if t == "s" and _all_ints(d, ("ts", "tid", "cpu")) and is_int(d.get("wait"), -1):
                ts.append(d["ts"])
                tid.append(d["tid"])
                cpu.append(d["cpu"])
                wait.append(d["wait"])
            elif t == "sys" and _all_ints(d, ("ts", "busy", "total")):
                sys_ts.append(d["ts"])
                sys_busy.append(d["busy"])
                sys_total.append(d["total"])
            elif t == "thread" and is_int(d.get("tid"), 0, MAX_U32):
                names[d["tid"]] = text(d.get("name"))
                if is_int(d.get("start_ticks")):
                    start_ticks[d["tid"]] = d["start_ticks"]
            elif t == "header":
                ncpu = d["ncpu"] if is_int(d.get("ncpu"), 0, MAX_CPUS) else 0
                iv = d.get("interval_s")
                interval = float(iv) if is_number(iv, 1e-4, 3600.0) else 0.1
                mc = d.get("machine_cpus")
                machine = mc if is_int(mc, 0, MAX_CPUS) else 0
                bm = d.get("boottime_minus_monotonic_ns")
                boot_minus_mono = bm if is_int(bm) else None
                ct = d.get("clk_tck")
                clk_tck = ct if is_int(ct, 0, 1_000_000) else 0
            else:
                bad += 1
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
