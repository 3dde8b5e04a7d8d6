"""DeepStream's latency measurement: one component holding most of a frame's latency, and
frame latencies that are wall-clock times (the decoder was renamed)."""

from __future__ import annotations

import numpy as np

from pipesight.analyses.context import Context
from pipesight.analyses.sampled import samples
from pipesight.findings import Evidence, Finding, confidence
from pipesight.metrics.samples import stat

SOURCE = "deepstream-latency"
DOMINANT = 0.3  # a component's share of the frame latency (as latency-dominant-element)

ADVICE = (
    (("mux",), "nvstreammux's latency includes waiting to fill a batch: batch-size equal to the "
               "number of sources, batched-push-timeout near one frame interval, live-source=1 "
               "for live inputs"),
    (("track",), "a lighter tracker (IOU or NvSORT instead of NvDCF, or NvDCF's lighter "
                 "config), a smaller tracker-width/height"),
    (("infer", "gie"), "a lighter or lower-precision model (FP16/INT8), inference on fewer "
                       "frames (interval), a batch-size matching the sources"),
    (("osd", "display"), "less drawing (no text, process-mode GPU), or no OSD in throughput "
                         "runs"),
    (("conv",), "fewer or smaller conversions"),
)


def analyze(ctx: Context) -> list[Finding]:
    s = samples(ctx)
    if s is None or SOURCE not in s.meta:
        return []
    out = []
    f = _invalid(s.meta[SOURCE])
    if f is not None:
        out.append(f)
    f = _dominant(ctx)
    if f is not None:
        out.append(f)
    return out


def _invalid(meta: dict) -> Finding | None:
    n = int(meta.get("frame_latency_invalid") or 0)
    if n == 0:
        return None
    vals = meta.get("frame_latency_invalid_values_ms") or []
    decoders = meta.get("decoder_components") or []
    named = (f" (here the decoder is named '{decoders[0]}')" if decoders
             and not str(decoders[0]).startswith("nvv4l2decode") else "")
    ev = [Evidence("frame_latency_prints_invalid", n, "prints", SOURCE),
          Evidence("frame_latency_prints", int(meta.get("frame_latency_prints") or 0), "prints",
                   SOURCE)]
    if vals:
        ev.append(Evidence("invalid_value_ms", float(vals[0]), "ms", SOURCE))
    return Finding(
        code="ds-frame-latency-invalid",
        title=(f"{n} frame latency print{'s are' if n != 1 else ' is'} a wall-clock time "
               f"({float(vals[0]) if vals else 0:.0f} ms since 1970), not a latency: DeepStream "
               "takes a frame's start time only from a component whose name starts with "
               f"'nvv4l2decode'{named}, so the start stayed 0"),
        severity="warning",
        subject="frame latency",
        evidence=ev,
        fix=("Keep the decoder's default name (nvv4l2decoder0, ...) or give it a name starting "
             "with 'nvv4l2decoder'. Until then, the span from the first component's input to the "
             "last one's output (batch_span) stands in for the frame latency."),
        # the epoch-sized value, and the decoder named otherwise in the component list
        confidence=confidence({SOURCE, "component-names"} if named else {SOURCE}),
    )


def _dominant(ctx: Context) -> Finding | None:
    s = samples(ctx)
    assert s is not None
    comps = s.find("component_latency", SOURCE)
    stats = [(x.device, stat(x)) for x in comps]
    stats = [(d, st) for d, st in stats if st is not None]
    if not stats:
        return None
    frames = [stat(x) for x in s.find("frame_latency", SOURCE)]
    frames = [f for f in frames if f is not None]
    span = s.get("batch_span", SOURCE)
    span_st = stat(span) if span is not None else None
    if frames:
        total = float(np.mean([f.mean for f in frames]))
        total_what, total_metric = "frame latency", "frame_latency_mean_ms"
    elif span_st is not None:
        total = span_st.mean
        total_what = "span from the first component's input to the last one's output"
        total_metric = "component_span_mean_ms"
    else:
        return None
    name, worst = max(stats, key=lambda ds: ds[1].mean)
    if total <= 0:
        return None
    share = worst.mean / total
    if share < DOMINANT:
        return None
    ev = [Evidence("component_latency_mean_ms", round(worst.mean, 3), "ms", SOURCE),
          Evidence("component_latency_p90_ms", round(worst.p90, 3), "ms", SOURCE),
          Evidence("batches", worst.n, "batches", SOURCE),
          Evidence(total_metric, round(total, 3), "ms", SOURCE),
          Evidence("share_of_frame_latency_pct", round(100 * share, 1), "%", SOURCE)]
    rest = sorted((st.mean, d) for d, st in stats if d != name)
    title = (f"{name} holds most of the frame latency: {worst.mean:.1f} ms of the "
             f"{total:.1f} ms {total_what} ({100 * share:.0f}%)")
    if rest:
        title += f"; next: {rest[-1][1]} {rest[-1][0]:.1f} ms"
    waits = [(stat(x), x.device) for x in s.find("wait_before", SOURCE)]
    waits = [(w, d) for w, d in waits if w is not None]
    if waits:
        w, d = max(waits, key=lambda wd: wd[0].mean)
        ev.append(Evidence(f"wait_before_mean_ms[{d}]", round(w.mean, 3), "ms", SOURCE))
        if w.mean >= 0.1 * total:
            title += (f"; frames also wait {w.mean:.1f} ms between components before {d} "
                      "(a queue)")
    advice = next((a for keys, a in ADVICE if any(k in name.lower() for k in keys)), None)
    fix = (f"Make {name} cheaper" + (f": {advice}." if advice else ".") +
           " Component latency is the time from a batch entering the component to it leaving, "
           "waiting included.")
    return Finding(
        code="ds-latency-dominant-component",
        title=title,
        severity="warning",
        subject=name,
        evidence=ev,
        fix=fix,
        confidence="suspected",
    )
