"""What else the GPU timeline shows: serialized post-processing, copies that block the CPU,
streams of kernels too small for their launches, and GPU time per NVTX range.

Judged from measurements and NVTX ranges per thread, never from names.
"""

from __future__ import annotations

from pipesight.analyses.context import Context
from pipesight.analyses.gpu import CAUSE_SHARE, GPU_BUSY, cycles, device_label, judgeable, role
from pipesight.findings import Evidence, Finding

SERIAL_RATIO = 1.0  # a consumer thread's busy time over the GPU's busy time, per batch
COPY_SHARE = 0.01  # blocking copies worth reporting: share of the GPU span spent in them
COPY_WARN = 0.05
LAUNCH_MIN_KERNELS = 200
LAUNCH_STREAM_BUSY = 0.5  # a stream busier than this is not launch-bound
NVTX_TOP = 5


def _pct(x: float) -> float:
    return round(100.0 * x, 1)


def _ms(ns: float) -> float:
    return round(ns / 1e6, 3)


def serial_postprocess(ctx: Context) -> list[Finding]:
    """A thread downstream of the GPU whose work per batch takes longer than the GPU's, and
    that is busy while the GPU idles: its stages run in series and the GPU waits for them."""
    gv = ctx.metrics.gpu
    if gv is None:
        return []
    out = []
    for u in gv.devices:
        if not judgeable(u) or u.busy_fraction >= GPU_BUSY or not u.gap_ns:
            continue
        dt = gv.threads[u.device]
        for r in dt.ranked():
            if role(dt, r.key) != "downstream":
                continue
            gap_share = r.gap_busy_ns / u.gap_ns
            ratio = r.busy_ns / max(u.busy_ns, 1)
            if gap_share < CAUSE_SHARE or ratio < SERIAL_RATIO:
                continue
            n = cycles(u)
            ev = [
                Evidence(f"thread_busy_pct[{r.label}]", _pct(r.busy_ns / u.span_ns), "%",
                         "nsys-nvtx"),
                Evidence("gpu_busy_pct", _pct(u.busy_fraction), "%", "nsys-gpu"),
                Evidence("thread_over_gpu_time", round(ratio, 3), "x", "nsys-nvtx"),
                Evidence("busy_during_gaps_pct", _pct(gap_share), "%", "nsys-nvtx"),
            ]
            per = ""
            if n:
                ev += [Evidence("thread_ms_per_batch", _ms(r.busy_ns / n), "ms", "nsys-nvtx"),
                       Evidence("gpu_ms_per_batch", _ms(u.busy_ns / n), "ms", "nsys-gpu")]
                per = (f" ({_ms(r.busy_ns / n):g} ms per batch against the GPU's "
                       f"{_ms(u.busy_ns / n):g} ms)")
            stages = ", ".join(f"{name} {_pct(ns / max(r.range_ns, 1)):g}%"
                               for name, ns in r.span_ranges[:4])
            out.append(Finding(
                code="serial-postprocess",
                title=(f"{r.label} post-processes the GPU's results in series and takes "
                       f"{round(ratio, 2):g}x the GPU's time{per}"
                       + (f" ({stages})" if stages else "")
                       + f"; it is busy during {_pct(gap_share):g}% of the GPU's idle time"),
                severity="critical" if ratio >= 1.5 else "warning",
                subject=r.label,
                evidence=ev,
                fix=("Split its stages over threads (a queue before each, so that tiling, "
                     "drawing and metadata run in parallel with each other and with inference)"
                     ", or make them cheaper (draw on the GPU, tile fewer times, lighter "
                     "metadata)."),
                confidence="confirmed",
                thread=r.label,
            ))
    return out


def blocking_copies(ctx: Context) -> list[Finding]:
    gv = ctx.metrics.gpu
    if gv is None or not gv.devices:
        return []
    span = max(u.span_ns for u in gv.devices)
    out = []
    for c in gv.copies:
        share = c.call_ns / max(span, 1)
        if share < COPY_SHARE:
            continue
        who = ", ".join(f"{t} {_ms(ns):g} ms" for t, ns in c.threads)
        if c.kind == "sync-api":
            code, what = "gpu-sync-copy", "synchronous copies (cudaMemcpy and kin)"
            fix = "Use cudaMemcpyAsync from pinned memory on a stream, and wait with events."
        else:
            code, what = "gpu-pageable-copy", "asynchronous copies from or to pageable memory"
            fix = ("Copy from pinned (page-locked) host memory: a copy from pageable memory "
                   "is staged by the driver and blocks the calling thread despite 'Async'.")
        out.append(Finding(
            code=code,
            title=(f"{c.count} {what} block the calling threads {_ms(c.call_ns):g} ms "
                   f"({_pct(share):g}% of the GPU's span): {who}"),
            severity="warning" if share >= COPY_WARN else "info",
            subject=c.threads[0][0] if c.threads else None,
            evidence=[
                Evidence("copies", c.count, "", "nsys-cuda-api"),
                Evidence("bytes", c.bytes, "B", "nsys-gpu"),
                Evidence("copy_gpu_ms", _ms(c.gpu_ns), "ms", "nsys-gpu"),
                Evidence("calling_thread_blocked_ms", _ms(c.call_ns), "ms", "nsys-cuda-api"),
            ],
            fix=fix,
            confidence="confirmed",
        ))
    return out


def launch_bound(ctx: Context) -> list[Finding]:
    """Streams of many kernels, each shorter than the API call that launched it, on a GPU
    that is not busy: the CPU cannot launch them as fast as the GPU runs them."""
    gv = ctx.metrics.gpu
    if gv is None:
        return []
    out = []
    for s in gv.streams:
        u = gv.device(s.device)
        if u is None or u.busy_fraction >= GPU_BUSY or s.kernels < LAUNCH_MIN_KERNELS:
            continue
        if s.median_launch_ns is None or s.median_kernel_ns >= s.median_launch_ns:
            continue
        busy = s.busy_ns / max(s.span_ns, 1)
        if busy >= LAUNCH_STREAM_BUSY:
            continue
        out.append(Finding(
            code="launch-bound",
            title=(f"Stream {s.stream} on {device_label(u)} runs {s.kernels} kernels of "
                   f"{s.median_kernel_ns / 1e3:.1f} µs (median), shorter than the "
                   f"{s.median_launch_ns / 1e3:.1f} µs it takes {s.launcher or 'the CPU'} to "
                   f"launch each: the stream is busy only {_pct(busy):g}% of its span"),
            severity="warning",
            subject=f"stream {s.stream}",
            evidence=[
                Evidence("kernels", s.kernels, "", "nsys-gpu"),
                Evidence("median_kernel_us", round(s.median_kernel_ns / 1e3, 2), "µs",
                         "nsys-gpu"),
                Evidence("median_launch_us", round(s.median_launch_ns / 1e3, 2), "µs",
                         "nsys-cuda-api"),
                Evidence("stream_busy_pct", _pct(busy), "%", "nsys-gpu"),
            ],
            fix="Fuse the small kernels, batch more work per launch, or capture the sequence "
                "in a CUDA graph.",
            confidence="confirmed",
            thread=s.launcher,
        ))
    return out


def nvtx_gpu_time(ctx: Context) -> list[Finding]:
    gv = ctx.metrics.gpu
    if gv is None or not gv.nvtx:
        return []
    busy = sum(u.busy_ns for u in gv.devices) or 1
    rows = gv.nvtx[:NVTX_TOP]
    listing = "; ".join(f"{r.name}: {_ms(r.gpu_ns):g} ms GPU in {r.instances} ranges"
                        for r in rows)
    return [Finding(
        code="gpu-time-per-range",
        title=f"GPU time launched inside NVTX ranges (nested ranges each count): {listing}",
        severity="info",
        subject=None,
        evidence=[Evidence(f"gpu_ms[{r.name}]", _ms(r.gpu_ns), "ms", "nsys-nvtx") for r in rows]
        + [Evidence("gpu_busy_ms_all_devices", _ms(busy), "ms", "nsys-gpu")],
        confidence="confirmed",
    )]


def analyze(ctx: Context) -> list[Finding]:
    return (serial_postprocess(ctx) + blocking_copies(ctx) + launch_bound(ctx)
            + nvtx_gpu_time(ctx))
