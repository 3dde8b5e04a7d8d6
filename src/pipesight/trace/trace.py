"""The trace model every analysis reads: topology, flow, timeline, and what was (not) seen."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipesight.trace.ceiling import Ceiling
from pipesight.trace.clock import ClockMap
from pipesight.trace.flow import Flow
from pipesight.trace.gpu import GpuTimeline
from pipesight.trace.latency import LatencyRecords
from pipesight.trace.samples import Samples
from pipesight.trace.timeline import Callbacks, CpuSamples, Frames, Outside, ThreadInfo
from pipesight.trace.topology import DotGraph, Topology
from pipesight.trace.watch import Interval


@dataclass
class Trace:
    topology: Topology = field(default_factory=Topology)
    flow: Flow = field(default_factory=Flow.empty)
    frames: Frames | None = None  # only with pipesight's entry/return tracer
    outside: Outside | None = None
    callbacks: Callbacks | None = None  # Python callbacks, where pipesight's hooks timed them
    threads: list[ThreadInfo] = field(default_factory=list)
    latency: LatencyRecords = field(default_factory=LatencyRecords)
    messages: list[dict[str, Any]] = field(default_factory=list)  # bus: QoS, errors, warnings
    states: list[dict[str, Any]] = field(default_factory=list)  # state changes
    cpu: CpuSamples | None = None
    samples: Samples | None = None  # sampled counters: NVML, tegrastats, DeepStream prints
    gpu: GpuTimeline | None = None  # GPU timeline (Nsight Systems), when one was read
    # tracer time -> the GPU timeline's clock, where the two could be tied (readers/clocks.py)
    gpu_clock: ClockMap | None = None
    ceiling: Ceiling | None = None  # the model alone's throughput, where the user gave it
    # pipeline graphs GStreamer dumped during the run (RUN/dot), by file name
    graphs: list[tuple[str, DotGraph]] = field(default_factory=list)
    # tracer time (ns) of the run's start, when a run directory tells it
    run_start_ts: int | None = None
    # CLOCK_MONOTONIC ns minus tracer ns, to align sampled data with tracer time
    monotonic_offset_ns: int | None = None
    inputs: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what readers skipped or could not read
    run: dict[str, Any] = field(default_factory=dict)  # manifest.json, when from a run directory
    # what `pipesight watch` judged interval by interval, for a watch run's directory
    intervals: list[Interval] = field(default_factory=list)
    # optional parts filled by other readers (GPU, hardware samples, DeepStream prints)
    extras: dict[str, Any] = field(default_factory=dict)

    def thread_index(self, key: str, **info: Any) -> int:
        """Index of the thread with this input-specific key, creating it if new."""
        idx = self._thread_keys.get(key)
        if idx is None:
            idx = len(self.threads)
            self.threads.append(ThreadInfo(index=idx, key=key, **info))
            self._thread_keys[key] = idx
        return idx

    def __post_init__(self) -> None:
        self._thread_keys: dict[str, int] = {t.key or str(t.index): t.index for t in self.threads}

    @property
    def has_flow(self) -> bool:
        return len(self.flow) > 0

    @property
    def has_frames(self) -> bool:
        return self.frames is not None and len(self.frames) > 0
