"""What analyses conclude: findings with evidence, and the verdict built from them.

These are plain data. verdict.json (schema 1) is their ``to_dict`` form; docs/verdict-schema.md
describes every field.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Severity = Literal["critical", "warning", "info"]
Confidence = Literal["confirmed", "suspected", "none"]
BottleneckKind = Literal[
    "element", "source", "live-source", "sink-sync", "cpu", "gpu", "gpu-starved", "unknown",
    "hw-engine",  # a hardware engine: NVDEC, NVENC, NVJPG, VIC, OFA, DLA, EMC
    "failed",  # the profiled command failed: that is the verdict, whatever else was measured
]
# how a candidate finding stands to the verdict (set by verdict/settle.py):
# verdict: it names the bottleneck; secondary: another stage near its limit, consistent with
# the verdict; explained: a consequence of the verdict (a thread that waits for a core when the
# CPUs are the limit); disagrees: a signal the verdict could not rule out (the verdict says so
# and lowers its confidence); not-judged: the command failed or the window is too short to
# judge, so it was not weighed
Stance = Literal["verdict", "secondary", "explained", "disagrees", "not-judged"]
# "rate": the rate to expect after the fix; "upper": at most this
Bound = Literal["rate", "upper"]

SCHEMA_VERSION = 1


def confidence(signals: Iterable[str], required: str | None = None) -> Confidence:
    """The one rule: two independent signals (measurements of different kinds) agreeing
    confirm a finding, one suspects it. ``required``: a signal without which it stays
    suspected (the GPU as the limit needs the model alone to compare with)."""
    s = set(signals)
    ok = len(s) >= 2 and (required is None or required in s)
    return "confirmed" if ok else "suspected"


@dataclass(frozen=True)
class Evidence:
    metric: str
    value: float | int | str | bool | None
    unit: str
    source: str  # which measurement it comes from: "tracer", "queue-flow", "proc", "nsys", ...


@dataclass
class Fix:
    """One change a verdict proposes, with the rate the stage model predicts after it."""

    action: str  # stable code: queue-before, cheaper, remove, sync-false, latency, ...
    text: str  # what to do, in words
    predicted_fps: float | None = None
    bound: Bound | None = None  # None: the model cannot put a number on it (basis says why)
    basis: str = ""  # how the number was reached, what caps it, or why there is none


def fact(where: str, text: str, source: str) -> Evidence:
    """Quoted evidence: where it is (file:line, a DOT dump, a config key) and its text."""
    return Evidence(where, text, "", source)


@dataclass
class Finding:
    code: str
    title: str
    severity: Severity
    subject: str | None
    evidence: list[Evidence] = field(default_factory=list)
    fix: str | None = None
    predicted_fps: float | None = None
    confidence: Confidence = "suspected"
    # set on findings that name a candidate for THE bottleneck
    kind: BottleneckKind | None = None
    element: str | None = None
    thread: str | None = None
    # a plain-words explanation beyond the title, and where the advice is documented
    detail: str | None = None
    references: list[str] = field(default_factory=list)
    # candidates: the sentence the verdict opens with when it names this finding ("jpegenc0
    # limits throughput"); the title itself only says what was measured, so that a candidate
    # that is not the verdict never reads as one
    claim: str | None = None
    stance: Stance | None = None
    fixes: list[Fix] = field(default_factory=list)
    headroom: dict[str, Any] | None = None  # live sources: see Bottleneck.headroom

    @property
    def signal_sources(self) -> set[str]:
        return {e.source for e in self.evidence}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return d


@dataclass
class Bottleneck:
    kind: BottleneckKind
    element: str | None
    thread: str | None
    confidence: Confidence
    summary: str
    predicted_fps: float | None = None  # upper bound: the bottleneck's own time gone
    fixes: list[Fix] = field(default_factory=list)
    disagreements: list[str] = field(default_factory=list)  # codes of findings that disagree
    # live sources: capacity against the source's rate, and how many more such streams fit
    headroom: dict[str, Any] | None = None
    code: str | None = None  # the code of the finding that names it (None: no finding does)


@dataclass
class ElementRow:
    name: str
    type: str | None
    thread: str | None
    buffers_in: int
    buffers_out: int
    fps: float | None
    mean_process_ms: float | None
    p50_process_ms: float | None
    p99_process_ms: float | None
    mean_cpu_ms: float | None
    thread_share: float | None
    process_time_basis: str  # "exact" (entry/return tracer), "estimated" (push intervals), "none"
    # over the whole input, not only the window: what gst-stats-1.0 prints for the same log
    buffers_in_total: int = 0
    buffers_out_total: int = 0
    bytes_in_total: int = 0
    bytes_out_total: int = 0
    # threads the element started (they share its streaming thread's name), charged to it
    worker_threads: int = 0
    worker_cpu_pct: float | None = None  # their CPU, in % of one core


@dataclass
class Verdict:
    throughput_fps: float | None
    window_start_s: float | None
    window_end_s: float | None
    bottleneck: Bottleneck
    findings: list[Finding]
    elements: list[ElementRow]
    threads: list[dict[str, Any]] = field(default_factory=list)
    queues: list[dict[str, Any]] = field(default_factory=list)
    sinks: list[dict[str, Any]] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    pads: list[dict[str, Any]] = field(default_factory=list)
    latency: dict[str, Any] = field(default_factory=dict)
    gpus: list[dict[str, Any]] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    seen: list[str] = field(default_factory=list)
    not_seen: list[str] = field(default_factory=list)
    instrumentation: dict[str, Any] = field(default_factory=dict)
    run: dict[str, Any] = field(default_factory=dict)
    # how other sources' times were put on the tracer's: {"gpu": ClockMap.to_dict()}
    clocks: dict[str, Any] = field(default_factory=dict)
    throughput_unit: str = "frames"  # "buffers" where batches of unknown size reach the sinks
    batching: list[dict[str, Any]] = field(default_factory=list)
    # the model alone (--ceiling) and the pipeline's share of it
    ceiling: dict[str, Any] | None = None
    headroom: float | None = None
    callbacks: list[dict[str, Any]] = field(default_factory=list)  # the app's Python callbacks
    # an audio pipeline: its rate in samples per second and against real time
    audio: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "throughput_fps": _round(self.throughput_fps),
            "throughput_unit": self.throughput_unit,
            "audio": self.audio,
            "window": {"start_s": _round(self.window_start_s), "end_s": _round(self.window_end_s)},
            "bottleneck": asdict(self.bottleneck),
            "findings": [f.to_dict() for f in self.findings],
            "elements": [asdict(e) for e in self.elements],
            "threads": self.threads,
            "queues": self.queues,
            "sinks": self.sinks,
            "sources": self.sources,
            "pads": self.pads,
            "latency": self.latency,
            "gpus": self.gpus,
            "inputs": self.inputs,
            "seen": self.seen,
            "not_seen": self.not_seen,
            "instrumentation": self.instrumentation,
            "clocks": self.clocks,
            "batching": self.batching,
            "ceiling": self.ceiling,
            "headroom": _round(self.headroom, 4),
            "callbacks": self.callbacks,
            "run": self.run,
        }


def _round(v: float | None, nd: int = 6) -> float | None:
    return None if v is None else round(float(v), nd)
