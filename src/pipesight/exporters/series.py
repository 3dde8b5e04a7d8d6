"""What each judged interval adds to the exported metrics, kept in one exporter-neutral state
that the Prometheus and OTLP exporters (pipesight.exporters) both read.

Conventions: counters only grow (rate() gives frames per second); gauges hold the latest
interval's value; a series not updated for ``STALE_INTERVALS`` intervals is removed, and the
bottleneck's state series is removed the moment the bottleneck moves, so nothing stale stays
standing. Labels are the pipeline's name, element and thread NAMES (never thread ids), each
dimension capped at ``max_values`` live values; values past the cap are folded into "other".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

STALE_INTERVALS = 3
OTHER = "other"
# element processing time buckets, seconds: 10 us to 10 s
BUCKETS = (1e-5, 2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1,
           0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Spec:
    prom: str  # Prometheus name (base units in the name, counters end in _total)
    otel: str  # OpenTelemetry name (dotted; unit in metadata)
    kind: str  # counter | gauge | histogram
    unit: str  # UCUM, for OpenTelemetry
    help: str
    labels: tuple[str, ...]


SPECS = {s.prom: s for s in (
    Spec("pipesight_frames_total", "pipesight.frames", "counter", "{frame}",
         "Frames that reached a sink or left a source (rate() gives frames per second).",
         ("pipeline", "element", "role")),
    Spec("pipesight_buffers_total", "pipesight.buffers", "counter", "{buffer}",
         "Buffers each element received.", ("pipeline", "element")),
    Spec("pipesight_dropped_buffers_total", "pipesight.dropped_buffers", "counter", "{buffer}",
         "Buffers dropped: by a leaky queue (reason=leaky) or for lateness (reason=qos).",
         ("pipeline", "element", "reason")),
    Spec("pipesight_element_processing_seconds", "pipesight.element.processing.duration",
         "histogram", "s", "Each element's own time per buffer (nested calls excluded).",
         ("pipeline", "element")),
    Spec("pipesight_thread_busy_ratio", "pipesight.thread.busy", "gauge", "1",
         "Share of the last interval a streaming thread was busy (not waiting on a queue).",
         ("pipeline", "thread")),
    Spec("pipesight_thread_cpu_seconds_total", "pipesight.thread.cpu.time", "counter", "s",
         "CPU time of each streaming thread.", ("pipeline", "thread")),
    Spec("pipesight_queue_fill_ratio", "pipesight.queue.fill", "gauge", "1",
         "Mean fill of each queue against its tightest limit over the last interval.",
         ("pipeline", "element")),
    Spec("pipesight_gpu_busy_ratio", "pipesight.gpu.busy", "gauge", "1",
         "GPU busy share over the last interval (NVML, tegrastats).", ("pipeline", "gpu")),
    Spec("pipesight_gpu_engine_utilization_ratio", "pipesight.gpu.engine.utilization", "gauge",
         "1", "Hardware engine utilisation over the last interval (NVDEC, NVENC, ...).",
         ("pipeline", "gpu", "engine")),
    Spec("pipesight_bottleneck", "pipesight.bottleneck", "gauge", "1",
         "1 for what limits the pipeline now (kind, element, confidence); the series of the "
         "previous bottleneck is removed when it moves.",
         ("pipeline", "kind", "element", "confidence")),
    Spec("pipesight_bottleneck_changes_total", "pipesight.bottleneck.changes", "counter",
         "{change}", "Times the bottleneck moved (kind or element).", ("pipeline",)),
    Spec("pipesight_intervals_total", "pipesight.intervals", "counter", "{interval}",
         "Intervals judged; complete=false where trace records were lost.",
         ("pipeline", "complete")),
    Spec("pipesight_trace_lost_records_total", "pipesight.trace.lost_records", "counter",
         "{record}", "Trace records overwritten in the ring before they were read.",
         ("pipeline",)),
    Spec("pipesight_command_restarts_total", "pipesight.command.restarts", "counter",
         "{restart}", "Times the watched command was started again (--restart).",
         ("pipeline",)),
    Spec("pipesight_last_interval_end_timestamp_seconds", "pipesight.interval.end", "gauge",
         "s", "Unix time at which the last judged interval ended.", ("pipeline",)),
)}


class LabelCap:
    """At most ``limit`` distinct live values of one label; a value unseen for
    STALE_INTERVALS intervals frees its place."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.seen: dict[str, int] = {}

    def __call__(self, value: str | None, interval: int) -> str:
        v = value or "unknown"
        if v not in self.seen:
            for k in [k for k, i in self.seen.items() if interval - i >= STALE_INTERVALS]:
                del self.seen[k]
            if len(self.seen) >= self.limit:
                return OTHER
        self.seen[v] = interval
        return v


@dataclass
class Hist:
    counts: np.ndarray  # cumulative per bucket (le), last = +Inf
    total: float = 0.0
    n: int = 0
    recent: np.ndarray | None = None  # this interval's values (seconds), for OTLP


@dataclass
class MetricState:
    """Series by (metric, label values); each remembers the interval it was last updated."""

    max_values: int = 100
    values: dict[tuple[str, tuple[str, ...]], float] = field(default_factory=dict)
    hists: dict[tuple[str, tuple[str, ...]], Hist] = field(default_factory=dict)
    touched: dict[tuple[str, tuple[str, ...]], int] = field(default_factory=dict)
    interval: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    caps: dict[str, LabelCap] = field(default_factory=dict)
    bottleneck_key: tuple[str, ...] | None = None

    def label(self, dim: str, value: str | None) -> str:
        cap = self.caps.setdefault(dim, LabelCap(self.max_values))
        return cap(value, self.interval)

    def add(self, name: str, labels: tuple[str, ...], v: float) -> None:
        k = (name, labels)
        self.values[k] = self.values.get(k, 0.0) + float(v)
        self.touched[k] = self.interval

    def set(self, name: str, labels: tuple[str, ...], v: float) -> None:
        k = (name, labels)
        self.values[k] = float(v)
        self.touched[k] = self.interval

    def observe(self, name: str, labels: tuple[str, ...], seconds: np.ndarray) -> None:
        k = (name, labels)
        h = self.hists.get(k)
        if h is None:
            h = self.hists[k] = Hist(np.zeros(len(BUCKETS) + 1, np.int64))
        idx = np.searchsorted(np.asarray(BUCKETS), seconds, side="left")
        h.counts += np.cumsum(np.bincount(idx, minlength=len(BUCKETS) + 1))
        h.total += float(seconds.sum())
        h.n += int(seconds.shape[0])
        h.recent = seconds
        self.touched[k] = self.interval

    def expire(self) -> None:
        """Gauges not set this interval go at once (they describe the last interval only);
        counters and histograms after STALE_INTERVALS intervals without an update."""
        for k, i in list(self.touched.items()):
            kind = SPECS[k[0]].kind
            if (kind == "gauge" and i < self.interval) or self.interval - i >= STALE_INTERVALS:
                self.values.pop(k, None)
                self.hists.pop(k, None)
                del self.touched[k]

    def snapshot(self) -> tuple[dict, dict]:
        with self.lock:
            return dict(self.values), {k: Hist(h.counts.copy(), h.total, h.n, h.recent)
                                       for k, h in self.hists.items()}


def update(state: MetricState, pipeline: str, record: dict[str, Any], verdict: dict[str, Any],
           trace: Any, metrics: Any, qos_seen: dict[str, int]) -> None:
    """Add one judged interval (its record, verdict dict, trace and metrics) to the state."""
    with state.lock:
        state.interval += 1
        _update(state, pipeline, record, verdict, trace, metrics, qos_seen)
        state.expire()


def _update(state: MetricState, p: str, record: dict[str, Any], v: dict[str, Any],
            trace: Any, metrics: Any, qos_seen: dict[str, int]) -> None:
    el = lambda name: state.label("element", name)  # noqa: E731
    secs = float(record.get("seconds") or 0.0)
    for s in v.get("sinks", []):
        state.add("pipesight_frames_total", (p, el(s["element"]), "sink"), s.get("frames") or 0)
    for s in v.get("sources", []):
        state.add("pipesight_frames_total", (p, el(s["element"]), "source"),
                  s.get("frames") or 0)
    for e in v.get("elements", []):
        if e.get("buffers_in"):
            state.add("pipesight_buffers_total", (p, el(e["name"])), e["buffers_in"])
    for q in v.get("queues", []):
        state.add("pipesight_dropped_buffers_total", (p, el(q["element"]), "leaky"),
                  q.get("dropped") or 0)
        if q.get("mean_fill") is not None:
            state.set("pipesight_queue_fill_ratio", (p, el(q["element"])), q["mean_fill"])
    for name, n in _qos_drops(trace, qos_seen).items():
        state.add("pipesight_dropped_buffers_total", (p, el(name), "qos"), n)
    threads: dict[str, tuple[float, float]] = {}
    for t in v.get("threads", []):
        name = state.label("thread", t.get("thread") or t.get("owner"))
        busy, cpu = threads.get(name, (0.0, 0.0))
        # threads that share a name (after a restart, or folded into "other"): the busiest
        # one's share, and their CPU added up
        threads[name] = (max(busy, (t.get("busy_pct") or 0) / 100),
                         cpu + (t.get("cpu_pct") or 0) / 100 * secs)
    for name, (busy, cpu) in threads.items():
        state.set("pipesight_thread_busy_ratio", (p, name), busy)
        state.add("pipesight_thread_cpu_seconds_total", (p, name), cpu)
    act = getattr(metrics, "activity", None)
    if act is not None:
        for eid, samples in act.samples.items():
            if len(samples):
                state.observe("pipesight_element_processing_seconds",
                              (p, el(trace.topology.name(eid))), np.asarray(samples) / 1e9)
    for key, val in _gpu(trace, secs).items():
        if key[0] == "busy":
            state.set("pipesight_gpu_busy_ratio", (p, key[1]), val)
        else:
            state.set("pipesight_gpu_engine_utilization_ratio", (p, key[1], key[2]), val)
    b = v.get("bottleneck") or {}
    key = (p, str(b.get("kind")), el(b.get("element") or "none"), str(b.get("confidence")))
    if state.bottleneck_key is not None and state.bottleneck_key[:3] != key[:3]:
        state.add("pipesight_bottleneck_changes_total", (p,), 1)
    elif state.bottleneck_key is None:
        state.add("pipesight_bottleneck_changes_total", (p,), 0)
    state.bottleneck_key = key
    state.set("pipesight_bottleneck", key, 1)  # a gauge: last interval's alone survives
    state.touched[("pipesight_bottleneck_changes_total", (p,))] = state.interval
    state.add("pipesight_intervals_total",
              (p, "true" if record.get("complete") else "false"), 1)
    state.add("pipesight_trace_lost_records_total", (p,), record.get("lost_records") or 0)
    state.add("pipesight_command_restarts_total", (p,), record.get("restarted") or 0)
    state.set("pipesight_last_interval_end_timestamp_seconds", (p,), record.get("end_unix") or 0)


def _qos_drops(trace: Any, seen: dict[str, int]) -> dict[str, int]:
    """QoS messages carry each element's running total of dropped buffers: what it grew by
    since the last interval (a smaller total is a restarted element: all of it is new)."""
    out: dict[str, int] = {}
    last: dict[str, int] = {}
    for m in getattr(trace, "messages", []):
        if m.get("type") == "qos":
            name = str(m.get("element"))
            last[name] = max(last.get(name, 0), int(m.get("dropped") or 0))
    for name, total in last.items():
        before = seen.get(name, 0)
        grew = total - before if total >= before else total
        if grew:
            out[name] = grew
        seen[name] = total
    return out


ENGINES = ("enc", "dec", "jpg", "ofa", "NVENC", "NVDEC", "NVJPG", "VIC", "OFA", "DLA")


def _gpu(trace: Any, secs: float) -> dict[tuple[str, ...], float]:
    """Mean GPU busy share and engine utilisation over the interval, where they were sampled."""
    out: dict[tuple[str, ...], float] = {}
    samples = getattr(trace, "samples", None)
    if samples is None:
        return out
    for s in samples.series:
        if s.unit != "%" or s.source not in ("nvml", "tegrastats"):
            continue
        vals = s.between(0.0, secs).v
        vals = vals[~np.isnan(vals)]
        if not vals.size:
            continue
        mean = float(vals.mean()) / 100
        base = s.name.split(".")[-1] if s.source == "nvml" else s.name.split(".")[0]
        if base in ("gpu_util", "GR3D", "GR3D_FREQ"):
            out[("busy", s.device or "gpu")] = mean
        else:
            engine = base.removesuffix("_util")
            if engine in ENGINES:
                out[("engine", s.device or "gpu", engine.upper())] = mean
    return out
