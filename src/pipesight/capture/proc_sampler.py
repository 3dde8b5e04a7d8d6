"""Samples the CPU time and run-queue wait of every thread of the target's process tree from
/proc, at a set interval, into RUN/samples/proc.jsonl."""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path
from typing import IO


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for tid in _tasks(pid):
        s = _read(f"/proc/{pid}/task/{tid}/children")
        if s:
            out.extend(int(x) for x in s.split())
    return out


def _tasks(pid: int) -> list[int]:
    try:
        return [int(t) for t in os.listdir(f"/proc/{pid}/task")]
    except OSError:
        return []


def _start_ticks(base: str) -> int | None:
    """When the thread started, in clock ticks since boot (field 22 of its stat): a thread
    takes its creator's name, so its start tells what its creator was doing."""
    stat = _read(base + "/stat")
    if not stat:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return int(fields[19]) if len(fields) > 19 else None


class ProcSampler:
    """Background thread; start() then stop(). Costs one /proc read per thread per sample."""

    def __init__(self, root_pid: int, out: Path, interval_s: float = 0.1,
                 exclude: set[int] | None = None) -> None:
        self.root = root_pid
        self.exclude = set(exclude or ())  # e.g. the keeper: in the tree, not of the command
        self.interval = interval_s
        self.out = out
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pipesight-proc", daemon=True)
        self._names: dict[int, str] = {}
        self._pids: list[int] = [] if root_pid in self.exclude else [root_pid]
        self.process_names: dict[int, str] = {}  # pid -> its name, as first seen
        self.samples = 0
        self.tick = os.sysconf("SC_CLK_TCK")
        self._fds: dict[int, int] = {}  # tid -> open schedstat descriptor

    def start(self) -> None:
        self.out.parent.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    # where samples go instead of self.out: set by `pipesight watch` to a bounded sink
    sink: IO[str] | None = None

    def _open(self) -> IO[str]:
        return self.sink if self.sink is not None else open(self.out, "w")

    def _run(self) -> None:
        with self._open() as f:
            self._header(f)
            n = 0
            while not self._stop.is_set():
                if n % 10 == 0:  # a new process is rare: look for one every 10 samples
                    self._refresh()
                self._sample(f)
                n += 1
                self._stop.wait(self.interval)
            self._sample(f)
        self._close_fds()

    def _header(self, f: IO[str]) -> None:
        try:
            ncpu = len(os.sched_getaffinity(self._pids[0] if self._pids else self.root))
        except OSError:
            ncpu = os.cpu_count() or 0
        # thread start times are clock ticks since boot (/proc/TID/stat): the two clocks read
        # together place them on the monotonic clock
        boot, mono = time.clock_gettime_ns(time.CLOCK_BOOTTIME), time.monotonic_ns()
        f.write(json.dumps({"t": "header", "interval_s": self.interval, "ncpu": ncpu,
                            "machine_cpus": os.cpu_count(), "clock": "monotonic",
                            "root_pid": self.root, "boottime_minus_monotonic_ns": boot - mono,
                            "clk_tck": self.tick}) + "\n")

    def _refresh(self) -> None:
        seen, stack = [], [self.root]
        while stack:
            p = stack.pop()
            if p in seen or not os.path.exists(f"/proc/{p}"):
                continue
            seen.append(p)
            stack.extend(_children(p))
        seen = [p for p in seen if p not in self.exclude]
        if seen:
            self._pids = seen

    def _sample(self, f: IO[str]) -> None:
        now = time.monotonic_ns()
        lines = []
        stat = _read("/proc/stat")
        if stat:
            # the whole machine: other processes may be what takes the CPUs
            v = [int(x) for x in stat.split("\n", 1)[0].split()[1:9]]
            idle = v[3] + v[4]
            lines.append(f'{{"t":"sys","ts":{now},"busy":{sum(v) - idle},"total":{sum(v)}}}')
        for pid in self._pids:
            for tid in _tasks(pid):
                base = f"/proc/{pid}/task/{tid}"
                sched = self._schedstat(tid, base)
                if sched:
                    parts = sched.split()
                    cpu, wait = int(parts[0]), int(parts[1])
                else:
                    stat = _read(base + "/stat")
                    if not stat:
                        continue
                    fields = stat.rsplit(")", 1)[-1].split()
                    cpu = (int(fields[11]) + int(fields[12])) * 1_000_000_000 // self.tick
                    wait = -1
                if tid not in self._names:
                    self._names[tid] = (_read(base + "/comm") or "").strip()
                    if tid == pid:
                        self.process_names.setdefault(pid, self._names[tid])
                    lines.append(json.dumps({"t": "thread", "pid": pid, "tid": tid,
                                             "name": self._names[tid],
                                             "start_ticks": _start_ticks(base)}))
                lines.append(f'{{"t":"s","ts":{now},"tid":{tid},"cpu":{cpu},"wait":{wait}}}')
        if lines:
            f.write("\n".join(lines) + "\n")
            f.flush()
        self.samples += 1

    def _schedstat(self, tid: int, base: str) -> str | None:
        """schedstat through a descriptor kept open per thread and read again from offset 0
        (the kernel regenerates it): a third of the system calls of open/read/close, and no
        Python file object, per thread per sample."""
        fd = self._fds.get(tid)
        if fd is None:
            try:
                fd = os.open(base + "/schedstat", os.O_RDONLY)
            except OSError:
                return None
            self._fds[tid] = fd
        try:
            data = os.pread(fd, 256, 0)
        except OSError:  # the thread ended
            data = b""
        if not data:
            os.close(self._fds.pop(tid))
            return None
        return data.decode()

    def _close_fds(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()
