"""DeepStream's own FPS prints: what it reported, a stream (or the whole pipeline) stalled at
0 fps, streams running at unequal rates."""

from __future__ import annotations

import numpy as np

from pipesight.analyses.context import Context
from pipesight.analyses.sampled import PERF, perf_fps, perf_streams
from pipesight.findings import Evidence, Finding
from pipesight.metrics.samples import zero_runs
from pipesight.trace.samples import Series

STALL_PRINTS = 2  # consecutive prints at 0 fps
SLOW = 0.8  # a stream below this share of the median stream's rate
MIN_GAP_FPS = 1.0  # ... and at least this many fps behind
MIN_PRINTS = 3


def analyze(ctx: Context) -> list[Finding]:
    streams = perf_streams(ctx)
    if not streams:
        return []
    out = [_summary(ctx, streams)]
    out.extend(_stalls(streams))
    f = _imbalance(streams)
    if f is not None:
        out.append(f)
    return out


def _where(x: Series, i: int) -> str:
    return f"print {i + 1}" if x.clock != "seconds" else f"{x.t[i]:.1f} s"


def _summary(ctx: Context, streams: dict[str, Series]) -> Finding:
    total = perf_fps(ctx) or 0.0
    n = max(len(x) for x in streams.values())
    per = ", ".join(f"{k} {np.nanmean(x.v[1:] if len(x) > 2 else x.v):.1f}"
                    for k, x in list(streams.items())[:8])
    ev = [Evidence("deepstream_fps_total", round(total, 2), "fps", PERF),
          Evidence("streams", len(streams), "streams", PERF),
          Evidence("prints", n, "prints", PERF)]
    return Finding(
        code="deepstream-fps",
        title=(f"DeepStream reported {total:.1f} fps over {len(streams)} stream"
               f"{'s' if len(streams) != 1 else ''} (mean of its PERF prints, the first left out: "
               f"{per})"),
        severity="info",
        subject="DeepStream PERF",
        evidence=ev,
        confidence="suspected",
    )


def _stalls(streams: dict[str, Series]) -> list[Finding]:
    stalled: dict[str, tuple[int, int]] = {}  # stream -> (start, length) of its longest stall
    for key, x in streams.items():
        runs = [r for r in zero_runs(x) if r[1] >= STALL_PRINTS]
        if runs:
            stalled[key] = max(runs, key=lambda r: r[1])
    if not stalled:
        return []
    if len(streams) > 1 and len(stalled) == len(streams):
        x0 = streams[next(iter(stalled))]
        start, length = stalled[next(iter(stalled))]
        at_end = all(st + ln == len(streams[k]) for k, (st, ln) in stalled.items())
        ev = [Evidence("streams_stalled", len(stalled), "streams", PERF),
              Evidence("zero_fps_prints", min(ln for _, ln in stalled.values()), "prints", PERF),
              Evidence("stalled_until_end", at_end, "", PERF)]
        return [_stall_finding(
            f"The pipeline stalled: all {len(streams)} streams at 0 fps from "
            f"{_where(x0, start)}" + (" to the end" if at_end else ", then resumed"),
            "pipeline", ev, at_end)]
    out = []
    for key, (start, length) in stalled.items():
        x = streams[key]
        at_end = start + length == len(x)
        never = length == len(x)
        ev = [Evidence("zero_fps_prints", length, "prints", PERF),
              Evidence("prints", len(x), "prints", PERF),
              Evidence("stalled_until_end", at_end, "", PERF)]
        if never:
            what = f"{key} never delivered a frame (0 fps in all {length} prints)"
        elif at_end:
            what = (f"{key} stopped delivering frames from {_where(x, start)} on "
                    f"(0 fps in the last {length} prints)")
        else:
            what = (f"{key} delivered no frames for {length} prints from {_where(x, start)}, "
                    "then resumed")
        prefix = "The pipeline stalled: " if len(streams) == 1 else "A stream stalled: "
        out.append(_stall_finding(prefix + what, key, ev, at_end))
    return out


def _stall_finding(title: str, subject: str, ev: list[Evidence], at_end: bool) -> Finding:
    return Finding(
        code="pipeline-stalled",
        title=title,
        severity="critical" if at_end else "warning",
        subject=subject,
        evidence=ev,
        fix=("Look for an error or EOS on the stream's source (a network camera dropped, a file "
             "ended, a decoder error) and for a full queue downstream; `pipesight doctor` reads "
             "the GStreamer debug log for the cause."),
        confidence="suspected",
    )


def _imbalance(streams: dict[str, Series]) -> Finding | None:
    if len(streams) < 2:
        return None
    means = {}
    for k, x in streams.items():
        v = x.v[1:] if len(x) > MIN_PRINTS else x.v
        v = v[~np.isnan(v)]
        if v.size >= MIN_PRINTS - 1:
            means[k] = float(v.mean())
    if len(means) < 2:
        return None
    med = float(np.median(list(means.values())))
    slow = {k: m for k, m in means.items() if m < SLOW * med and med - m >= MIN_GAP_FPS}
    if not slow or med <= 0:
        return None
    fast = max(means.values())
    ev = [Evidence(f"fps_mean[{k}]", round(m, 2), "fps", PERF) for k, m in means.items()]
    ev.append(Evidence("fps_median_of_streams", round(med, 2), "fps", PERF))
    names = ", ".join(f"{k} {m:.1f} fps" for k, m in sorted(slow.items(), key=lambda kv: kv[1]))
    return Finding(
        code="stream-fps-imbalance",
        title=(f"Streams run at unequal rates: {names} against a median of {med:.1f} fps "
               f"(fastest {fast:.1f})"),
        severity="warning",
        subject=", ".join(slow),
        evidence=ev,
        fix=("Check the slow streams' sources: their frame rate, resolution, codec and network. "
             "Where streams are batched by nvstreammux, a slow live stream also delays the "
             "batches of the others (batched-push-timeout)."),
        confidence="suspected",
    )
