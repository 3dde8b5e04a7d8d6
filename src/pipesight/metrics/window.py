"""The steady-state window every rate and share is measured over."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.trace import Trace


@dataclass(frozen=True)
class Window:
    start: int  # ns, tracer time
    end: int
    basis: str  # how it was chosen, said in the report
    delay_s: float = 0.0  # the warm-up left out before it (--delay, where it was applied)

    @property
    def seconds(self) -> float:
        return max(self.end - self.start, 0) / 1e9

    def contains(self, ts: np.ndarray) -> np.ndarray:
        return (ts >= self.start) & (ts <= self.end)


def sink_elements(trace: Trace) -> list[int]:
    """Elements where buffers end: flagged sinks, or (when the input has no flags) elements
    that receive buffers and never pass any on."""
    fl = trace.flow
    topo = trace.topology
    received = set(np.unique(fl.dst_element[fl.dst_element >= 0]).tolist())
    sent = set(np.unique(fl.src_element[fl.src_element >= 0]).tolist())
    out = []
    for eid in sorted(received):
        e = topo.element(eid)
        flagged = e.is_sink if e is not None else None
        if flagged or (flagged is None and eid not in sent):
            out.append(eid)
    if not out:  # flags said no sink received anything: fall back to the structure
        out = sorted(received - sent)
    return out


def source_elements(trace: Trace) -> list[int]:
    fl = trace.flow
    received = set(np.unique(fl.dst_element[fl.dst_element >= 0]).tolist())
    sent = set(np.unique(fl.src_element[fl.src_element >= 0]).tolist())
    return sorted(sent - received)


MIN_STEADY_S = 0.5  # a shorter steady state is too short to name a bottleneck
# fewer buffers than this where the rate is counted: each buffer is too large a share of the
# window (a buffer cut by its edge moves a rate or a share by over 10%) to name a bottleneck
MIN_BUFFERS = 10


@dataclass(frozen=True)
class WindowSize:
    """How much the window holds, against what a verdict needs."""

    seconds: float
    buffers: int  # buffers through the pad where the pipeline's rate is counted
    pad: str | None  # that pad (or sink)

    @property
    def too_short(self) -> bool:
        return self.seconds < MIN_STEADY_S or self.buffers < MIN_BUFFERS

    def shortfall(self) -> str:
        """What it lacks, in words."""
        parts = []
        if self.seconds < MIN_STEADY_S:
            parts.append(f"{self.seconds:.2f} s (under {MIN_STEADY_S:g} s)")
        else:
            parts.append(f"{self.seconds:.2f} s")
        where = f" at {self.pad}" if self.pad else ""
        parts.append(f"{self.buffers} buffers{where}"
                     + (f" (under {MIN_BUFFERS})" if self.buffers < MIN_BUFFERS else ""))
        return " and ".join(parts)


def choose_window(trace: Trace, delay_s: float = 0.0) -> Window | None:
    fl = trace.flow
    if len(fl) == 0:
        return None
    fixed = trace.run.get("window_monotonic_ns")
    if fixed and trace.monotonic_offset_ns is not None:
        # the run says which stretch to judge (pipesight watch: one interval), so that
        # `analyze` of the run directory judges what the watch judged
        start, end = (int(x) - trace.monotonic_offset_ns for x in fixed)
        return Window(start, end, "the watched interval")
    sinks = sink_elements(trace)
    at_sink = np.isin(fl.dst_element, sinks) if sinks else np.ones(len(fl), bool)
    ts = fl.ts[at_sink] if at_sink.any() else fl.ts
    start, end = int(ts.min()), int(ts.max())
    basis = "first to last buffer reaching a sink"
    if delay_s > 0:
        origin = trace.run_start_ts if trace.run_start_ts is not None else int(fl.ts.min())
        skip = origin + int(delay_s * 1e9)
        if skip >= end:
            return Window(start, end, basis + f" (--delay {delay_s:g}s is past the end: ignored)")
        if end - max(skip, start) < MIN_STEADY_S * 1e9 <= end - start:
            # a window this short cannot carry a verdict; the whole run, warm-up included, can
            return Window(start, end, basis + f" (--delay {delay_s:g}s would leave under "
                          f"{MIN_STEADY_S:g}s: ignored)")
        if skip > start:
            start = skip
            basis = f"from {delay_s:g}s after the start to the last buffer reaching a sink"
            return Window(start, end, basis, delay_s)
    return Window(start, end, basis)
