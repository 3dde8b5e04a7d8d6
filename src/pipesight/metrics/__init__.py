"""Numbers measured from a trace: what users read and trust. No judgement here."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipesight.metrics.activity import Activity, compute_activity
from pipesight.metrics.batching import Batcher, batchers
from pipesight.metrics.callbacks import CallbackUse, callback_use
from pipesight.metrics.ceiling import CeilingCheck, check, pipeline_model
from pipesight.metrics.cpu import CpuSummary, cpu_summary
from pipesight.metrics.gpu_host import HostGaps, host_gaps
from pipesight.metrics.gpu_view import GpuView, compute_gpu
from pipesight.metrics.latency import LatencyStat, element_latency, pipeline_latency
from pipesight.metrics.live import LiveFeed, SinkClock, live_feeds, sink_clocks
from pipesight.metrics.media import AudioRate
from pipesight.metrics.queues import QueueFill, handover_elements, queue_fill
from pipesight.metrics.stages import StageModel, stage_model, thread_rates
from pipesight.metrics.throughput import (
    Rate,
    counted_buffers,
    counted_sinks,
    pipeline_audio,
    pipeline_fps,
    rates_to_trust,
    sink_rates,
    source_rates,
)
from pipesight.metrics.window import Window, WindowSize, choose_window
from pipesight.metrics.workers import Worker, worker_threads
from pipesight.trace import Trace


@dataclass
class Metrics:
    window: Window | None
    window_size: WindowSize | None = None  # what the window holds: seconds, buffers
    throughput_fps: float | None = None
    # "buffers" where batches of an unknown size reach a sink, or for audio
    throughput_unit: str = "frames"
    audio: AudioRate | None = None  # an audio pipeline: samples per second, real-time factor
    batchers: list[Batcher] = field(default_factory=list)  # elements that batch frames
    ceiling: CeilingCheck | None = None  # against the model alone, where a ceiling was given
    callbacks: list[CallbackUse] = field(default_factory=list)  # the app's Python callbacks
    sinks: list[Rate] = field(default_factory=list)
    sources: list[Rate] = field(default_factory=list)
    activity: Activity | None = None
    queues: dict[int, QueueFill] = field(default_factory=dict)
    cpu: CpuSummary | None = None
    pipeline_latency: list[LatencyStat] = field(default_factory=list)
    element_latency: list[LatencyStat] = field(default_factory=list)
    gpu: GpuView | None = None  # from an Nsight Systems timeline, when the trace has one
    # per device: what the traced streaming threads did during its idle gaps (one clock)
    gpu_host: dict[int, HostGaps] = field(default_factory=dict)
    live: list[LiveFeed] = field(default_factory=list)  # live sources and what they delivered
    sink_clocks: dict[int, SinkClock] = field(default_factory=dict)
    stages: StageModel | None = None  # the model every prediction is made with
    workers: list[Worker] = field(default_factory=list)  # threads elements started, charged


def compute(trace: Trace, delay_s: float = 0.0) -> Metrics:
    w = choose_window(trace, delay_s)
    m = Metrics(window=w)
    m.pipeline_latency = pipeline_latency(trace.latency)
    m.element_latency = element_latency(trace.latency)
    m.gpu = compute_gpu(trace.gpu)
    m.gpu_host = host_gaps(trace, m.gpu)
    if w is not None:
        _flow_metrics(trace, m, w)
    if trace.ceiling is not None:
        m.ceiling = check(trace.ceiling, pipeline_model(trace, m.batchers), m.throughput_fps)
    return m


def _flow_metrics(trace: Trace, m: Metrics, w: Window) -> None:
    rates = sink_rates(trace, w)
    buffers, pad = counted_buffers(rates)
    m.window_size = WindowSize(w.seconds, buffers, pad)
    m.sinks = rates_to_trust(rates, w)
    m.sources = source_rates(trace, w)
    m.throughput_fps = pipeline_fps(m.sinks)
    m.audio = pipeline_audio(m.sinks)
    m.batchers = batchers(trace, w)
    if any(s.unit == "buffers" for s in counted_sinks(m.sinks)):
        m.throughput_unit = "buffers"
    m.activity = compute_activity(trace, w)
    for q in handover_elements(trace):
        m.queues[q] = queue_fill(trace, w, q)
    m.cpu = cpu_summary(trace, w)
    m.workers = worker_threads(trace, w, m.cpu, m.activity)
    m.callbacks = callback_use(trace, w)
    m.live = live_feeds(trace, w)
    m.sink_clocks = sink_clocks(trace, w)
    ncpu = int(trace.run.get("host", {}).get("cpus_allowed", 0) or 0)
    names = {t.index: t.name or t.label() for t in trace.threads}
    tids = {t.index: t.os_tid for t in trace.threads if t.os_tid is not None}
    drops = any(q.dropped > 0 for q in m.queues.values())
    m.stages = stage_model(m.activity, m.throughput_fps, max(w.end - w.start, 1), m.cpu,
                           m.live, m.sink_clocks, ncpu, names, tids,
                           thread_rates(trace, w) if drops else None)


__all__ = ["Metrics", "Window", "compute"]
