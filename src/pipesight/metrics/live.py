"""What a live source delivers and how the synchronising sinks meet its buffers, inside the
window: the measurements that tell whether a pipeline keeps up with a live source.

A live source timestamps each buffer with the running time at capture; a sink with sync=true
waits until running time reaches timestamp + the pipeline's latency. A buffer the sink waits
for arrived in time; one it does not wait for arrived late (it is rendered late, or dropped
past max-lateness). So the share of a syncing sink's buffers that never blocked is the share
that was late, measured without QoS messages (which fakesink and appsink do not post).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics.throughput import nominal_fps, upstream_map, upstream_sources
from pipesight.metrics.window import Window, sink_elements, source_elements
from pipesight.trace import Trace

LIVE_FLAG = 1 << 4  # GST_BUFFER_FLAG_LIVE
GAP = 1.5  # a timestamp step longer than this many frame durations: frames were lost


@dataclass
class LiveFeed:
    element: int
    name: str
    basis: str  # "buffer-flags" (≥ 50% of its buffers flagged LIVE) or "props" (is-live)
    live_share: float | None
    nominal_fps: float | None  # from its caps
    fps: float  # what it delivered inside the window
    buffers: int
    gaps: int  # timestamp steps longer than GAP frame durations
    max_step_ms: float | None
    sinks: list[int] = field(default_factory=list)  # sinks it feeds


@dataclass
class SinkClock:
    element: int
    name: str
    sync: bool | None  # its sync property, None when not recorded
    calls: int  # buffers rendered inside the window
    waited: int  # calls in which it blocked: waited for the clock
    median_wait_ms: float | None  # of the calls that waited: the margin each buffer had
    min_wait_ms: float | None
    processing_deadline_ns: int | None
    max_lateness_ns: int | None

    @property
    def late_share(self) -> float:
        return 1.0 - self.waited / self.calls if self.calls else 0.0


def live_feeds(trace: Trace, w: Window) -> list[LiveFeed]:
    fl = trace.flow
    if len(fl) == 0:
        return []
    inw = w.contains(fl.ts)
    secs = max(w.seconds, 1e-9)
    sinks = sink_elements(trace)
    up = upstream_map(trace)
    sources = set(source_elements(trace))
    out = []
    for s in sorted(sources):
        sel = fl.src_element == s
        share = float(np.count_nonzero(fl.flags[sel] & LIVE_FLAG) / max(np.count_nonzero(sel), 1))
        e = trace.topology.element(s)
        prop = e.props.get("is-live") if e is not None else None
        if share >= 0.5:
            basis = "buffer-flags"
        elif prop is True:
            basis = "props"
        else:
            continue
        mine = sel & inw
        pts = np.sort(fl.pts[mine & (fl.pts >= 0)])
        nominal = nominal_fps(trace, s)
        gaps, max_step = 0, None
        if pts.shape[0] >= 2:
            step = np.diff(pts)
            max_step = float(step.max()) / 1e6
            if nominal:
                gaps = int(np.count_nonzero(step > GAP * 1e9 / nominal))
        # its own rate over its own pushes: the window follows the sinks, which lag the source
        # by the pipeline's latency
        ts = fl.ts[mine]
        n = int(fl.count[mine].sum())
        span = float(ts.max() - ts.min()) / 1e9 if ts.shape[0] >= 2 else 0.0
        fps = (n - 1) / span if span > 0.5 * secs else n / secs
        out.append(LiveFeed(
            element=s, name=trace.topology.name(s), basis=basis,
            live_share=share if sel.any() else None, nominal_fps=nominal,
            fps=fps, buffers=n,
            gaps=gaps, max_step_ms=max_step,
            sinks=[k for k in sinks if s in upstream_sources(up, k, sources)],
        ))
    return out


def sink_clocks(trace: Trace, w: Window) -> dict[int, SinkClock]:
    """Per sink: how many of its buffers it waited for (exact timing only)."""
    fr = trace.frames
    out: dict[int, SinkClock] = {}
    if fr is None or len(fr) == 0:
        return out
    inw = w.contains(fr.start)
    for s in sink_elements(trace):
        sel = inw & (fr.element == s)
        if not sel.any():
            continue
        e = trace.topology.element(s)
        props = e.props if e is not None else {}
        waited = sel & (fr.blocked > 0)
        waits = fr.self_wall[waited] / 1e6
        sync = props.get("sync")
        out[s] = SinkClock(
            element=s, name=trace.topology.name(s),
            sync=sync if isinstance(sync, bool) else None,
            calls=int(np.count_nonzero(sel)), waited=int(np.count_nonzero(waited)),
            median_wait_ms=float(np.median(waits)) if waits.size else None,
            min_wait_ms=float(waits.min()) if waits.size else None,
            processing_deadline_ns=_int(props.get("processing-deadline")),
            max_lateness_ns=_int(props.get("max-lateness")),
        )
    return out


def _int(v: object) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
