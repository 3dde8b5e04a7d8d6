"""A hardware engine, the GPU or the Jetson's CPU cores kept busy without a break: NVDEC,
NVENC, NVJPG, VIC, OFA, DLA, the memory controller (EMC) from tegrastats or NVML; the GPU from
NVML's utilisation or tegrastats' GR3D; all online CPU cores from tegrastats."""

from __future__ import annotations

import numpy as np

from pipesight.analyses.context import Context
from pipesight.analyses.sampled import (
    PERF,
    nvml_gpu,
    perf_streams,
    samples,
    target_pids,
    throughput,
    windowed,
)
from pipesight.findings import Evidence, Finding, confidence
from pipesight.metrics.samples import Stretch, longest_at_or_above, stat
from pipesight.trace.samples import Series

SATURATED = 90.0  # % busy counts as saturated
SUSTAINED = 0.25  # ... for at least this share of the window's samples, in one stretch
MIN_SAMPLES = 5
CRITICAL_MEAN = 95.0  # mean over the stretch at or above this: critical, else warning
OWN_SHARE = 0.8  # the profiled command's processes take this share of the engine's figure
STEADY_CV = 0.1  # DeepStream's FPS varies less than this (stdev / mean) across prints

# NVML series -> (engine, engine-count key in the NVML header)
NVML_ENGINES = {"dec_util": ("NVDEC", "nvdec_count"), "enc_util": ("NVENC", "nvenc_count"),
                "jpg_util": ("NVJPG", "nvjpg_count"), "ofa_util": ("OFA", "ofa_count")}
TEGRA_PREFIXES = ("NVDEC", "NVENC", "NVJPG", "VIC", "OFA", "NVDLA", "PVA", "EMC")

FIXES = {
    "NVDEC": ("Decoding limits the pipeline. Decode less: lower the input resolution, bitrate or "
              "frame rate, or have the decoder skip frames (nvv4l2decoder drop-frame-interval, "
              "skip-frames); spread streams over more decoders or GPUs. One stream decodes on one "
              "NVDEC engine, so fewer streams than engines leaves engines idle."),
    "NVENC": ("Encoding limits the pipeline: encode fewer or smaller outputs, at a lower frame "
              "rate, or with a faster preset."),
    "NVJPG": "JPEG decoding/encoding limits the pipeline: fewer or smaller JPEG images.",
    "VIC": ("The video image compositor (scaling, colour conversion for nvvideoconvert on Jetson) "
            "is saturated: convert fewer frames or at a smaller size, or move conversions to the "
            "GPU (nvvideoconvert compute-hw=1)."),
    "OFA": "The optical-flow engine is saturated: compute flow on fewer or smaller frames.",
    "NVDLA": ("A deep-learning accelerator (DLA) is saturated: move a model to the GPU or "
              "lighten it."),
    "PVA": "The programmable vision accelerator is saturated.",
    "EMC": ("Memory bandwidth (EMC) is saturated: fewer copies and conversions of full frames, "
            "smaller frames, or a lower-precision model."),
}
ENGINE_WHAT = {"NVDEC": "video decoder", "NVENC": "video encoder", "NVJPG": "JPEG engine",
               "VIC": "video image compositor", "OFA": "optical-flow engine",
               "NVDLA": "deep-learning accelerator", "PVA": "vision accelerator",
               "EMC": "memory controller"}


def _family(engine: str) -> str:
    return next((p for p in TEGRA_PREFIXES if engine.startswith(p)), engine)


def analyze(ctx: Context) -> list[Finding]:
    s = samples(ctx)
    if s is None:
        return []
    out: list[Finding] = []
    for x in s.find(source="nvml"):
        if x.name in NVML_ENGINES:
            engine, count_key = NVML_ENGINES[x.name]
            count = nvml_gpu(ctx, x.device).get(count_key)
            f = _engine(ctx, windowed(ctx, x), engine, x.device, count, True)
        elif x.name == "gpu_util":
            f = _gpu(ctx, windowed(ctx, x))
        else:
            continue
        if f is not None:
            out.append(f)
    tegra = s.find(source="tegrastats")
    loads = {x.name[:-5]: x for x in tegra if x.name.endswith(".load")}
    for engine, x in sorted(loads.items()):
        if engine == "GR3D":
            f = _gpu(ctx, windowed(ctx, x))
        elif _family(engine) in TEGRA_PREFIXES:
            fam = _family(engine)
            alone = sum(1 for e in loads if _family(e) == fam) == 1
            f = _engine(ctx, windowed(ctx, x), engine, "Jetson", 1, alone)
        else:
            continue
        if f is not None:
            out.append(f)
    cores = _cpu_cores(ctx, [windowed(ctx, x) for x in tegra
                             if x.name.startswith("cpu") and x.name.endswith(".load")])
    if cores is not None:
        out.append(cores)
    return out


def _saturation(x: Series) -> tuple[Stretch, float] | None:
    st = stat(x)
    if st is None or st.n < MIN_SAMPLES:
        return None
    run = longest_at_or_above(x, SATURATED)
    if run is None or run.length < MIN_SAMPLES or run.share < SUSTAINED:
        return None
    return run, st.mean


def _time_ev(run: Stretch, source: str) -> list[Evidence]:
    ev = [Evidence("saturated_share_of_window_pct", round(100 * run.share, 1), "%", source),
          Evidence("saturated_samples", run.length, "samples", source)]
    if run.seconds is not None:
        ev.append(Evidence("saturated_stretch_s", round(run.seconds, 2), "s", source))
    return ev


def _own_share(ctx: Context, device: str, series_name: str, device_mean: float) -> float | None:
    """Share of the engine's figure that the profiled command's own processes account for."""
    s = samples(ctx)
    pids = target_pids(ctx)
    if s is None or not pids or device_mean <= 0:
        return None
    total, seen = 0.0, False
    for x in s.find(series_name, "nvml-process"):
        if x.meta.get("pid") in pids and x.device.startswith(device + " "):
            v = windowed(ctx, x).v
            v = v[~np.isnan(v)]
            if v.size:
                total += float(v.mean())
                seen = True
    return min(total / device_mean, 1.0) if seen else None


def _steady_perf(ctx: Context) -> float | None:
    """Coefficient of variation of DeepStream's total FPS across prints (start-up left out)."""
    streams = perf_streams(ctx)
    if not streams:
        return None
    n = min(len(x) for x in streams.values())
    if n < 4:
        return None
    total = np.sum([x.v[1:n] for x in streams.values()], axis=0)
    mean = float(np.mean(total))
    return float(np.std(total) / mean) if mean > 0 else None


def _engine(ctx: Context, x: Series, engine: str, device: str, count: int | None,
            whole: bool) -> Finding | None:
    sat = _saturation(x)
    if sat is None or count == 0:  # NVML says the GPU has no such engine
        return None
    run, mean = sat
    src = x.source
    fam = _family(engine)
    ev = [Evidence(f"{engine.lower()}_busy_mean_pct", round(mean, 1), "%", src),
          Evidence(f"{engine.lower()}_busy_in_stretch_pct", round(run.mean, 1), "%", src),
          *_time_ev(run, src)]
    signals = {src}
    if count:
        ev.append(Evidence(f"{fam.lower()}_engines", int(count), "engines",
                           "nvml" if src == "nvml" else src))
    fps, fps_src = throughput(ctx)
    ceiling = per_engine = None
    if fps and whole and run.mean > 0:
        ceiling = fps * 100.0 / run.mean
        ev.append(Evidence("pipeline_fps", round(fps, 2), "fps", fps_src or ""))
        ev.append(Evidence(f"{fam.lower()}_ceiling_fps", round(ceiling, 1), "fps", src))
        if count and count > 1:
            per_engine = ceiling / count
            ev.append(Evidence(f"{fam.lower()}_ceiling_per_engine_fps", round(per_engine, 1),
                               "fps", src))
    _corroborate(ctx, device, x.name if src == "nvml" else None, mean, ev, signals)
    what = ENGINE_WHAT.get(fam, "engine")
    title = (f"{engine} ({what}, {device}) is saturated: busy {run.mean:.0f}% "
             f"for {_how_long(run)}")
    if src == "nvml" and count and count > 1:
        title += f"; NVML gives one figure for all {count} {fam} engines"
    elif src == "nvml" and count is None:
        title += "; NVML did not tell how many engines the figure covers"
    if ceiling is not None:
        title += f"; at {fps:.1f} fps the {fam} work tops out near {ceiling:.0f} fps"
        if per_engine is not None:
            title += f" ({per_engine:.0f} fps per engine)"
    return Finding(
        code="engine-saturated",
        title=title,
        severity="critical" if run.mean >= CRITICAL_MEAN else "warning",
        subject=f"{engine} ({device})",
        evidence=ev,
        fix=FIXES.get(fam),
        predicted_fps=None,
        confidence=confidence(signals),
        kind="hw-engine",
        element=None,
        thread=None,
    )


def _corroborate(ctx: Context, device: str, field: str | None, mean: float,
                 ev: list[Evidence], signals: set[str]) -> None:
    """The signals that back a saturated series from other sources: the profiled processes'
    own share of it (NVML per-process figures, for `field`) and a steady DeepStream FPS."""
    if field is not None:
        own = _own_share(ctx, device, field, mean)
        if own is not None:
            ev.append(Evidence("profiled_processes_share_pct", round(100 * own, 1), "%",
                               "nvml-process"))
            if own >= OWN_SHARE:
                signals.add("nvml-process")
    cv = _steady_perf(ctx)
    if cv is not None:
        ev.append(Evidence("deepstream_fps_cv", round(cv, 3), "", PERF))
        if cv <= STEADY_CV:
            signals.add(PERF)


def _how_long(run: Stretch) -> str:
    pct = f"{100 * run.share:.0f}% of the samples"
    return f"{run.seconds:.1f} s ({pct})" if run.seconds is not None else pct


def _gpu(ctx: Context, x: Series) -> Finding | None:
    sat = _saturation(x)
    if sat is None:
        return None
    run, mean = sat
    src = x.source
    nvml = src == "nvml"
    ev = [Evidence("gpu_busy_mean_pct", round(mean, 1), "%", src),
          Evidence("gpu_busy_in_stretch_pct", round(run.mean, 1), "%", src), *_time_ev(run, src)]
    signals = {src}
    if nvml:
        gpu = nvml_gpu(ctx, x.device)
        s = samples(ctx)
        sm = s.get("sm_clock", "nvml", x.device) if s else None
        if sm is not None and gpu.get("max_sm_mhz"):
            st = stat(windowed(ctx, sm))
            if st is not None:
                ev.append(Evidence("sm_clock_mean_mhz", round(st.mean), "MHz", "nvml"))
                ev.append(Evidence("sm_clock_max_mhz", gpu["max_sm_mhz"], "MHz", "nvml"))
    _corroborate(ctx, x.device, "sm_util" if nvml else None, mean, ev, signals)
    device = x.device if nvml else "Jetson GPU (GR3D)"
    meaning = ("a kernel was running" if nvml else "the GPU was active")
    title = (f"{device} is busy without a break: {meaning} {run.mean:.0f}% of the time for "
             f"{_how_long(run)} (the figure says the GPU always had work, not how full its "
             "multiprocessors were)")
    # a sampled busy share says the GPU always had work, not that the work ran at the model's
    # speed: only the model alone at the same batch confirms the GPU as the limit
    at_ceiling = ctx.at_ceiling()
    if at_ceiling is not None:
        ev.append(Evidence("share_of_model_alone_pct", round(100 * at_ceiling[0], 1), "%",
                           "ceiling"))
    if at_ceiling is not None and at_ceiling[1]:
        signals.add("ceiling")
    return Finding(
        code="gpu-util-saturated",
        title=title,
        severity="critical" if run.mean >= CRITICAL_MEAN else "warning",
        subject=device,
        evidence=ev,
        fix=("Lighten the GPU work: inference at lower precision (FP16/INT8) or a smaller model, "
             "infer on fewer frames (nvinfer interval), fewer GPU conversions; a profile with "
             "--nsys shows which kernels take the time."),
        confidence=confidence(signals, required="ceiling"),
        # an Nsight Systems timeline of the same run judges the GPU exactly (analyses/gpu.py);
        # the sampled figure is then kept as an observation
        kind=None if ctx.metrics.gpu is not None else "gpu",
    )


def _cpu_cores(ctx: Context, cores: list[Series]) -> Finding | None:
    """All online cores busy (tegrastats); only where /proc accounting did not already say it."""
    if not cores or ctx.metrics.cpu is not None:
        return None
    n = min(len(c) for c in cores)
    if n < MIN_SAMPLES:
        return None
    mat = np.vstack([c.v[:n] for c in cores])
    online = ~np.isnan(mat)
    if not online.any():
        return None
    with np.errstate(invalid="ignore"):
        mean_online = np.where(online.any(axis=0), np.nanmean(np.where(online, mat, np.nan),
                                                              axis=0), np.nan)
    x = Series("cpu_mean.load", "%", "tegrastats", "Jetson", cores[0].t[:n], mean_online,
               cores[0].clock)
    sat = _saturation(x)
    if sat is None:
        return None
    run, mean = sat
    n_on = int(np.median(online.sum(axis=0)))
    ev = [Evidence("cpu_busy_mean_pct", round(mean, 1), "%", "tegrastats"),
          Evidence("cpu_busy_in_stretch_pct", round(run.mean, 1), "%", "tegrastats"),
          Evidence("cpus_online", n_on, "cores", "tegrastats"),
          Evidence("cpus", len(cores), "cores", "tegrastats"), *_time_ev(run, "tegrastats")]
    title = (f"All {n_on} online CPU cores are busy ({run.mean:.0f}% on average) for "
             f"{_how_long(run)}")
    if n_on < len(cores):
        title += f"; {len(cores) - n_on} of {len(cores)} cores are offline"
    return Finding(
        code="cpu-cores-saturated",
        title=title,
        severity="critical" if run.mean >= CRITICAL_MEAN else "warning",
        subject=f"{n_on} CPU cores",
        evidence=ev,
        fix=("Move work off the CPU (hardware decode and conversion: nvv4l2decoder, "
             "nvvideoconvert; no CPU copies of frames), or bring offline cores up with a higher "
             "power mode (nvpmodel). `pipesight profile` shows which threads take the time."),
        confidence="suspected",
        kind="cpu",
    )
