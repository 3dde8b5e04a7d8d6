"""Timeline: what each streaming thread spent its time on, and sampled counters.

Frames come from a tracer that records both entry to and return from each pad push or pull
(pipesight's own). A frame is one element handling one push (or serving one pull); its self
time excludes the nested pushes it made downstream, so each nanosecond of a thread belongs to
exactly one element. Time outside any frame belongs to the thread's owner (the element whose
task runs the thread: a source, a queue's src side, a demuxer).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frames:
    start: np.ndarray  # int64 ns
    end: np.ndarray  # int64 ns
    thread: np.ndarray  # int32 thread index
    element: np.ndarray  # int32 element doing the work, -1 for pads that only forward
    caller: np.ndarray  # int32 element that made the call (pusher / puller)
    pad: np.ndarray  # int32 pad the call went through
    self_wall: np.ndarray  # int64 ns spent in this element, nested calls excluded
    self_cpu: np.ndarray  # int64 ns of thread CPU time in this element
    # context switches in this element's own time: voluntary ones mean it blocked (waited on a
    # condition, the clock, a device), involuntary ones that it was preempted
    blocked: np.ndarray  # int32
    preempted: np.ndarray  # int32
    count: np.ndarray  # int32 buffers carried
    depth: np.ndarray  # int16 nesting depth, 1 = called from the thread's own loop
    mode: np.ndarray  # int8 PUSH, PULL or PROBE (model.flow)
    result: np.ndarray  # int32 GstFlowReturn
    # int64 index of the frame this one is nested in (-1: called from the thread's own loop)
    parent: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.start.shape[0])


@dataclass
class Outside:
    """Per thread, the time outside any frame (owned by the thread's task owner), as
    intervals between consecutive top-level calls."""

    start: np.ndarray  # int64 ns
    end: np.ndarray  # int64 ns
    thread: np.ndarray  # int32
    owner: np.ndarray  # int32 element owning the thread's loop, -1 unknown
    cpu: np.ndarray  # int64 ns of thread CPU time in the interval
    blocked: np.ndarray  # int32 voluntary context switches in the interval
    preempted: np.ndarray  # int32 involuntary ones


@dataclass
class Callbacks:
    """The application's Python callbacks (pad probes, signal handlers such as appsink's
    new-sample), timed by pipesight's Python hooks (capture/pyhooks)."""

    thread: np.ndarray  # int32 thread index
    start: np.ndarray  # int64 ns, tracer clock
    end: np.ndarray
    cpu: np.ndarray  # int64 ns of the thread's CPU time in the call
    name: np.ndarray  # int32 index into names
    names: list[str] = field(default_factory=list)  # "probe on q.src: f (app.py:12)"

    def __len__(self) -> int:
        return int(self.start.shape[0])


@dataclass
class ThreadInfo:
    index: int
    name: str | None = None
    os_tid: int | None = None  # kernel thread id, where the input has it
    key: str | None = None  # input-specific identity (e.g. a GThread pointer)
    owner: int | None = None  # element whose task runs this thread

    def label(self) -> str:
        if self.name:
            return f"{self.name} ({self.os_tid})" if self.os_tid else self.name
        if self.os_tid:
            return f"tid {self.os_tid}"
        return self.key or f"thread{self.index}"


@dataclass
class CpuSamples:
    """Sampled kernel accounting of the target's threads (from /proc)."""

    ts: np.ndarray  # int64 ns on the tracer clock
    os_tid: np.ndarray  # int64
    cpu_ns: np.ndarray  # int64 cumulative utime+stime
    wait_ns: np.ndarray  # int64 cumulative run-queue wait (schedstat), -1 unknown
    names: dict[int, str] = field(default_factory=dict)
    ncpu: int = 0  # CPUs the target may run on
    interval_s: float = 0.1
    machine_cpus: int = 0
    # the whole machine's CPU time (from /proc/stat, in clock ticks), to see other processes
    sys_ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sys_busy: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    sys_total: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    # when each thread started (os tid -> ns on the tracer clock), to the kernel's tick
    started: dict[int, int] = field(default_factory=dict)
    start_resolution_ns: int = 0
