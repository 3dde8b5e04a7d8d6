"""Look-ups the analyses of sampled counters share: the series inside the window, DeepStream's
reported FPS, the target's own processes, engine counts."""

from __future__ import annotations

import numpy as np

from pipesight.analyses.context import Context
from pipesight.metrics.samples import SOURCE_WHAT, in_window
from pipesight.trace import Trace
from pipesight.trace.samples import Samples, Series

PERF = "deepstream-perf"


def samples(ctx: Context) -> Samples | None:
    s = ctx.trace.samples
    return s if s is not None and len(s) else None


def windowed(ctx: Context, x: Series) -> Series:
    return in_window(x, ctx.trace, ctx.metrics.window)


def perf_streams(ctx: Context) -> dict[str, Series]:
    """Current FPS per stream from DeepStream's PERF prints."""
    s = samples(ctx)
    if s is None:
        return {}
    return {x.device: x for x in s.find("fps", PERF)}


def perf_fps(ctx: Context) -> float | None:
    """Frames per second over all streams as DeepStream reported them: each stream's mean over
    its prints (the first print, which covers the start-up, left out where there are more)."""
    streams = perf_streams(ctx)
    if not streams:
        return None
    total = 0.0
    for x in streams.values():
        v = x.v[1:] if len(x) > 2 else x.v
        v = v[~np.isnan(v)]
        if v.size:
            total += float(v.mean())
    return total


def throughput(ctx: Context) -> tuple[float | None, str | None]:
    """The pipeline's rate and where it comes from: the trace, else DeepStream's prints."""
    if ctx.metrics.throughput_fps:
        return ctx.metrics.throughput_fps, "tracer"
    fps = perf_fps(ctx)
    return (fps, PERF) if fps else (None, None)


def target_pids(ctx: Context) -> set[int]:
    """The profiled command's processes: the NVML sampler's root pid and every process whose
    main thread the /proc sampler saw (a process's main thread id is its pid)."""
    out: set[int] = set()
    s = samples(ctx)
    if s is not None:
        root = s.meta.get("nvml", {}).get("root_pid")
        if isinstance(root, int):
            out.add(root)
    cpu = ctx.trace.cpu
    if cpu is not None:
        out.update(int(t) for t in np.unique(cpu.os_tid).tolist())
    return out


def nvml_gpu(ctx: Context, device: str) -> dict:
    """What the NVML sampler recorded about a GPU ('GPU 0'): name, engine counts, limits."""
    s = samples(ctx)
    if s is None:
        return {}
    for g in s.meta.get("nvml", {}).get("gpus", []) or []:
        if f"GPU {g.get('index')}" == device:
            return g
    return {}


def samples_only_summary(trace: Trace) -> str:
    """The verdict's sentence for an input with sampled counters and no buffer flow."""
    s = trace.samples
    sources = s.sources() if s is not None else []
    what = ", ".join(SOURCE_WHAT.get(x, x) for x in sources)
    if any(x in ("nvml", "tegrastats") for x in sources):
        return (f"The input holds sampled counters only ({what}): none shows a hardware engine, "
                "the GPU or the CPU cores saturated, and without buffer flow no element can be "
                "named. Profile the pipeline with `pipesight profile` for that.")
    return (f"The input holds DeepStream's own prints only ({what}): they tell the rate and "
            "where latency goes, not what limits throughput. Profile the pipeline with "
            "`pipesight profile` (NVML or tegrastats samples, buffer flow) for that.")
