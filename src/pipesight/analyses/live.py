"""A live source sets the pipeline's rate: does the pipeline keep up with it?

"Keeps up" is checked, not assumed: the sinks receive what the source delivers (within 5%),
the source's timestamps have no gaps (frames lost at capture), nothing was dropped on the way
(QoS messages from decoders or sinks, leaky queues), and every synchronising sink waited for
its buffers (a buffer a syncing sink does not wait for arrived after timestamp + latency).

- keeps up: `live-source-bound` (kind live-source): nothing to fix; the headroom is the
  pipeline's capacity against the source's rate, and how many more such streams the cores take.
- keeps the rate but buffers arrive late at a syncing sink, with no stage saturated:
  `live-late` (kind sink-sync): the fix is latency (the sink's processing-deadline, a queue
  before the sink), never sync=false; nothing faster than the source can be promised.
- otherwise a stage falls behind: limits.py names it, its predictions capped by the source's
  rate, and `live-falls-behind` says what was seen.
"""

from __future__ import annotations

import math

from pipesight.analyses import predict
from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding, Fix, confidence
from pipesight.metrics.live import LiveFeed, SinkClock

RATE_KEPT = 0.95  # sinks get at least this share of what the source delivers
LATE_OK = 0.05  # share of a syncing sink's buffers that may arrive late (start-up jitter)
RATE_MATCH = 0.05  # the source's rate within 5% of its caps: it delivers its nominal rate
FULL_STAGE = 0.97  # of the window a stage works: it keeps the rate with nothing to spare


def analyze(ctx: Context) -> list[Finding]:
    feeds = [f for f in ctx.metrics.live if f.sinks and f.buffers > 0]
    if not feeds or not ctx.fps():
        return []
    feed = min(feeds, key=lambda f: f.nominal_fps or f.fps)
    clocks = [c for s, c in ctx.metrics.sink_clocks.items()
              if s in feed.sinks and c.sync is True and c.calls]
    late = [c for c in clocks if c.late_share > LATE_OK]
    qos = _qos(ctx)
    leaky = {q.name: q.dropped for q in ctx.metrics.queues.values() if q.dropped > 0}
    sink_fps = min((s.fps for s in ctx.metrics.sinks if s.element in feed.sinks),
                   default=ctx.fps() or 0.0)
    ev = _evidence(feed, clocks, qos, leaky, sink_fps)
    why = []
    if sink_fps < RATE_KEPT * feed.fps:
        why.append(f"the sinks receive {sink_fps:.1f} fps of the {feed.fps:.1f} it delivers")
    if feed.nominal_fps and feed.fps < (1 - RATE_MATCH) * feed.nominal_fps:
        why.append(f"it delivers {feed.fps:.1f} of its {feed.nominal_fps:g} fps")
    if feed.gaps:
        why.append(f"{feed.gaps} gaps in its timestamps (frames lost at capture; longest step "
                   f"{feed.max_step_ms:.0f} ms)")
    dropped = {**{k: v["dropped"] for k, v in qos.items() if v["dropped"]}, **leaky}
    if dropped:
        why.append("buffers dropped on the way (" + ", ".join(
            f"{k} {v}" for k, v in sorted(dropped.items())) + ")")
    if late:
        why.append("late at the synchronising sink: " + ", ".join(
            f"{c.name} did not wait for {100 * c.late_share:.0f}% of its buffers" for c in late))
    if not why:
        return [_keeps_up(ctx, feed, clocks, ev)]
    sink_names = {c.name for c in clocks}
    # a syncing sink that drops late buffers (max-lateness, QoS) is lateness too; gaps, leaky
    # queues and drops elsewhere (a decoder skipping frames) are something falling behind
    other = feed.gaps or leaky or any(k not in sink_names for k in dropped)
    if late and not other and not _stage_at_source_rate(ctx):
        return [_late(ctx, feed, late, ev)]
    return [Finding(
        code="live-falls-behind",
        title=(f"The pipeline does not keep up with its live source {feed.name}: "
               + "; ".join(why)),
        severity="warning", subject=feed.name, evidence=ev,
        fix="The bottleneck named by the verdict is what falls behind; no fix can make the "
            f"pipeline faster than the source's {_rate(feed):g} fps.",
        confidence=confidence(why),
    )]


def _rate(feed: LiveFeed) -> float:
    return round(feed.nominal_fps or feed.fps, 2)


def _qos(ctx: Context) -> dict[str, dict[str, int]]:
    """Per element, QoS drops and late buffers reported inside the window."""
    w = ctx.metrics.window
    out: dict[str, dict[str, int]] = {}
    for m in ctx.trace.messages:
        if m.get("type") != "qos" or w is None:
            continue
        ts = m.get("ts")
        if isinstance(ts, int) and not (w.start <= ts <= w.end):
            continue
        q = out.setdefault(str(m.get("element")), {"dropped": 0, "late": 0})
        q["dropped"] = max(q["dropped"], int(m.get("dropped") or 0))
        q["late"] += 1 if int(m.get("jitter") or 0) > 0 else 0
    return out


def _stage_at_source_rate(ctx: Context) -> bool:
    """A stage with no capacity to spare: late buffers then come from it falling behind (its
    queue growing), not from a latency budget set too small."""
    model = ctx.metrics.stages
    if model is None:
        return False
    return any(s.work_ns >= FULL_STAGE * model.window_ns for s in model.stages.values())


def _evidence(feed: LiveFeed, clocks: list[SinkClock], qos, leaky, sink_fps) -> list[Evidence]:
    ev = [Evidence("source_fps", round(feed.fps, 2), "fps", "queue-flow"),
          Evidence("sink_fps", round(sink_fps, 2), "fps", "queue-flow"),
          Evidence("timestamp_gaps", feed.gaps, "gaps", "tracer")]
    if feed.live_share is not None:
        ev.append(Evidence("buffers_flagged_live_pct", round(100 * feed.live_share, 1), "%",
                           "buffer-flags"))
    if feed.basis == "props":
        ev.append(Evidence("is_live_property", True, "", "props"))
    if feed.nominal_fps:
        ev.append(Evidence("caps_framerate", round(feed.nominal_fps, 3), "fps", "caps"))
    for c in clocks:
        ev.append(Evidence(f"sink_late_pct[{c.name}]", round(100 * c.late_share, 1), "%",
                           "tracer"))
        if c.median_wait_ms is not None:
            ev.append(Evidence(f"sink_wait_median_ms[{c.name}]", round(c.median_wait_ms, 2),
                               "ms", "tracer"))
    ev.append(Evidence("qos_dropped", sum(v["dropped"] for v in qos.values()), "buffers",
                       "bus"))
    ev.append(Evidence("leaky_dropped", sum(leaky.values()), "buffers", "queue-flow"))
    return ev


def _signals(feed: LiveFeed, clocks: list[SinkClock]) -> set[str]:
    s = {"buffer-flags" if feed.basis == "buffer-flags" else "props"}
    if feed.nominal_fps and abs(feed.fps - feed.nominal_fps) <= RATE_MATCH * feed.nominal_fps:
        s.add("caps")
    if clocks:
        s.add("tracer")  # the syncing sinks waited for every buffer (or, late: did not)
    return s


def headroom(ctx: Context, feed: LiveFeed) -> dict:
    """The pipeline's capacity against the source's rate, and how many more such streams the
    CPUs would take (each stream with its own threads: the cores are what they share)."""
    rate = _rate(feed)
    cap = predict.unpaced(ctx)
    out: dict = {"source_fps": rate, "capacity_fps": None, "capacity_limited_by": None,
                 "ratio": None, "cores_per_stream": None, "more_streams": None}
    if cap is not None and cap.fps:
        out.update(capacity_fps=round(cap.fps, 1), capacity_limited_by=cap.limited_by,
                   ratio=round(cap.fps / rate, 2))
    model = ctx.metrics.stages
    if model is not None and model.cpu_per_frame_s and model.cores:
        per_stream = model.cpu_per_frame_s * ctx.fps()
        out["cores_per_stream"] = round(per_stream, 3)
        if per_stream > 0:
            out["more_streams"] = max(math.floor(model.cores / per_stream) - 1, 0)
        out["cores"] = round(model.cores, 1)
    return out


def _headroom_text(h: dict) -> str:
    parts = []
    if h["capacity_fps"]:
        parts.append(f"it could take about {h['capacity_fps']:g} fps ({h['ratio']:g}x the "
                     f"source's {h['source_fps']:g}; limited by {h['capacity_limited_by']})")
    if h["more_streams"] is not None:
        parts.append(f"the pipeline uses {h['cores_per_stream']:g} cores, so about "
                     f"{h['more_streams']} more such pipelines would fit on the "
                     f"{h['cores']:.1f} usable cores (CPU only)")
    return "; ".join(parts)


def _keeps_up(ctx: Context, feed: LiveFeed, clocks: list[SinkClock], ev) -> Finding:
    h = headroom(ctx, feed)
    waits = ""
    if clocks:
        med = [c.median_wait_ms for c in clocks if c.median_wait_ms is not None]
        if med:
            waits = (f"; every buffer reached the synchronising sink in time (it waited a "
                     f"median {min(med):.1f} ms for each: the latency left over, not a limit)")
    title = (f"{feed.name} delivers {feed.fps:.1f} fps"
             + (f" (its caps say {feed.nominal_fps:g})" if feed.nominal_fps else "")
             + "; the sinks get all of it, with no gaps in its timestamps and nothing dropped"
             + waits)
    text = _headroom_text(h)
    if text:
        title += f". Headroom: {text}"
    fix = Fix("none", "Nothing to fix: throughput is set by the source's frame rate "
              "(sync=false or a faster stage would gain nothing).",
              basis="the model cannot predict above a live source's rate")
    b = Fix("not-live", "Capacity if the source were not live (a file, or a faster source).",
            h["capacity_fps"], "rate" if h["capacity_fps"] else None,
            f"every stage's time without waiting for the source or the clock; limited by "
            f"{h['capacity_limited_by']}" if h["capacity_fps"] else "no exact timing")
    signals = _signals(feed, clocks)
    return Finding(
        code="live-source-bound", title=title, severity="info", subject=feed.name,
        evidence=ev, fix=fix.text, predicted_fps=None,
        confidence=confidence(signals),
        kind="live-source", element=feed.name, thread=None,
        claim=f"The pipeline keeps up with its live source {feed.name}",
        fixes=[fix, b], headroom=h,
    )


def _late(ctx: Context, feed: LiveFeed, late: list[SinkClock], ev) -> Finding:
    c = max(late, key=lambda x: x.late_share)
    pd = c.processing_deadline_ns
    deadline = f" (now {pd / 1e6:g} ms)" if pd is not None else ""
    title = (f"{c.name} synchronises to the clock and does not wait for "
             f"{100 * c.late_share:.0f}% of the buffers of the live source {feed.name}: they "
             "arrive after their timestamp plus the pipeline's latency, so they are rendered "
             "late or dropped; the rate is kept and no stage is saturated, so the time from "
             "capture to the sink exceeds the latency the pipeline allows")
    fixes = [
        Fix("latency", f"Give the pipeline more latency: raise processing-deadline on {c.name}"
            f"{deadline}, or the pipeline's latency property, above the time buffers take "
            "from capture to the sink.", _rate(feed), "upper",
            "a live source delivers no more than its rate"),
    ]
    act = ctx.metrics.activity
    if act is not None and act.main_thread(c.element) == act.main_thread(feed.element):
        fixes.append(Fix("queue-before", f"Put a queue before {c.name}: it runs on the source's "
                         "thread, so its clock wait holds up capture.", _rate(feed), "upper",
                         "a live source delivers no more than its rate"))
    signals = _signals(feed, late)
    if any(e.metric == "qos_dropped" and e.value for e in ev):
        signals.add("bus")
    return Finding(
        code="live-late", title=title, severity="critical", subject=c.name, evidence=ev,
        fix=" ".join(f.text for f in fixes), predicted_fps=None,
        confidence=confidence(signals),
        kind="sink-sync", element=c.name, thread=None,
        claim=f"Buffers of the live source {feed.name} reach {c.name} late: the pipeline's "
              "latency is too small for its processing",
        fixes=fixes,
    )
