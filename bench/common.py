"""Helpers for the benchmarks: run a command, time it, and follow the peak memory of its whole
process tree (the tracer-log reader parses in worker processes)."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass


@dataclass
class Sample:
    wall_s: float
    cpu_s: float  # user + system of the process and its waited-for children
    peak_tree_mb: float  # largest sum of RSS over the process tree, polled every 20 ms
    returncode: int


def _tree(pid: int) -> list[int]:
    out, stack = [], [pid]
    while stack:
        p = stack.pop()
        out.append(p)
        try:
            for t in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{t}/children") as f:
                    stack.extend(int(x) for x in f.read().split())
        except OSError:
            continue
    return out


def _rss_mb(pids: list[int]) -> float:
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1])
        except OSError:
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def measure(argv: list[str], env: dict | None = None, stdout=subprocess.DEVNULL) -> Sample:
    t0 = time.perf_counter()
    before = os.times()
    proc = subprocess.Popen(argv, env=env, stdout=stdout, stderr=subprocess.DEVNULL)
    peak = 0.0
    stop = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss_mb(_tree(proc.pid)))
            stop.wait(0.02)

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    rc = proc.wait()
    stop.set()
    th.join()
    wall = time.perf_counter() - t0
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system -
                                                           before.children_system)
    return Sample(wall, cpu, peak, rc)
