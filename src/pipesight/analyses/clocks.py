"""Clocks held down while the hardware works: an NVIDIA GPU capped by power or heat (NVML's
clock-event reasons), a Jetson not in its maximum power mode (cores offline, clocks scaling
with load instead of pinned by jetson_clocks)."""

from __future__ import annotations

import numpy as np

from pipesight.analyses.context import Context
from pipesight.analyses.sampled import nvml_gpu, samples, windowed
from pipesight.findings import Evidence, Finding
from pipesight.metrics.samples import stat
from pipesight.trace.samples import Series

BUSY = 50.0  # % GPU utilisation from which a sample counts as working
HELD = 0.25  # share of working samples with a limiting reason
MIN_BUSY = 5  # working samples needed to judge
OFFLINE = 0.5  # share of lines with cores offline
SCALING = 1.2  # highest/lowest clock while busy: the clock follows the load
LOWERED_LIMIT = 0.95  # enforced power limit under this share of the default
LOW_CLOCK = 0.7  # SM clock while busy under this share of its maximum

# NVML clock-event reasons that hold clocks down (nvmlClocksEventReason*)
REASONS = {
    0x4: "software power cap",
    0x8: "hardware slowdown",
    0x20: "software thermal slowdown",
    0x40: "hardware thermal slowdown",
    0x80: "power brake",
}


def analyze(ctx: Context) -> list[Finding]:
    s = samples(ctx)
    if s is None:
        return []
    out = []
    for util in s.find("gpu_util", "nvml"):
        f = _nvml(ctx, util.device)
        if f is not None:
            out.append(f)
    f = _jetson(ctx)
    if f is not None:
        out.append(f)
    return out


def _nvml(ctx: Context, device: str) -> Finding | None:
    s = samples(ctx)
    assert s is not None
    util = s.get("gpu_util", "nvml", device)
    if util is None:
        return None
    u = windowed(ctx, util)
    busy = np.nan_to_num(u.v) >= BUSY
    if busy.sum() < MIN_BUSY:
        return None
    gpu = nvml_gpu(ctx, device)
    ev: list[Evidence] = []
    shares: dict[str, float] = {}
    held = 0.0
    reasons = s.get("clock_reasons", "nvml", device)
    if reasons is not None:
        bits = _aligned(windowed(ctx, reasons), u, busy).astype(np.int64)
        shares = {name: float(np.mean((bits & bit) != 0)) for bit, name in REASONS.items()}
        held = float(np.mean((bits & sum(REASONS)) != 0))
        ev.append(Evidence("busy_samples_held_pct", round(100 * held, 1), "%", "nvml"))
        ev += [Evidence(f"busy_samples_{k.replace(' ', '_')}_pct", round(100 * v, 1), "%",
                        "nvml") for k, v in shares.items() if v > 0]
    sm = s.get("sm_clock", "nvml", device)
    top = gpu.get("max_sm_mhz")
    busy_clock = None
    if sm is not None:
        c = _aligned(windowed(ctx, sm), u, busy)
        if c.size:
            busy_clock = float(np.mean(c))
            ev.append(Evidence("sm_clock_busy_mean_mhz", round(busy_clock), "MHz", "nvml"))
            if top:
                ev.append(Evidence("sm_clock_max_mhz", top, "MHz", "nvml"))
    low = busy_clock is not None and bool(top) and busy_clock < LOW_CLOCK * top
    if held < HELD and not low:
        return None
    pw = s.get("power", "nvml", device)
    pst = stat(windowed(ctx, pw)) if pw is not None else None
    limit = gpu.get("power_limit_mw")
    if pst is not None and limit:
        ev.append(Evidence("power_mean_w", round(pst.mean / 1000, 1), "W", "nvml"))
        ev.append(Evidence("power_limit_w", round(limit / 1000, 1), "W", "nvml"))
    default = gpu.get("power_default_limit_mw")
    lowered = bool(limit and default and limit < LOWERED_LIMIT * default)
    if lowered:
        ev.append(Evidence("power_default_limit_w", round(default / 1000, 1), "W", "nvml"))
    clock_txt = (f"SM clock {busy_clock:.0f} of {top} MHz while busy" if busy_clock is not None
                 and top else "")
    if held >= HELD:
        ranked = sorted(((v, k) for k, v in shares.items() if v > 0), reverse=True)
        why = ", ".join(f"{k} {100 * v:.0f}%" for v, k in ranked[:3])
        title = f"{device}'s clocks are held down while it works: {why} of its busy samples"
        if clock_txt:
            title += f"; {clock_txt}"
    else:
        title = (f"{device} runs at low clocks while it works: {clock_txt}, with no power or "
                 "thermal reason given (locked or application clocks?)")
    if lowered:
        title += (f"; its power limit ({limit / 1000:.0f} W) is below the default "
                  f"({default / 1000:.0f} W)")
    thermal = shares.get("software thermal slowdown", 0) + shares.get("hardware thermal "
                                                                      "slowdown", 0)
    fix = ("Throughput drops with the clock. " + (
        "Restore the power limit (nvidia-smi -pl). " if lowered else "") +
        ("Improve cooling or airflow. " if thermal > 0 else "") +
        ("Check for locked or application clocks (nvidia-smi -q -d CLOCK; nvidia-smi -rgc "
         "resets locked clocks). " if held < HELD else "") +
        "`nvidia-smi -q -d PERFORMANCE` shows the reasons while the pipeline runs.")
    return Finding(
        code="gpu-throttled",
        title=title,
        severity="warning",
        subject=device,
        evidence=ev,
        fix=fix,
        confidence="suspected",
    )


def _aligned(x: Series, ref: Series, mask: np.ndarray) -> np.ndarray:
    """x's values at the samples where ``mask`` (over ``ref``) holds; both series come from
    the same sampler lines, so they align by position."""
    n = min(len(x), len(ref))
    v = x.v[:n][mask[:n]]
    return v[~np.isnan(v)]


def _jetson(ctx: Context) -> Finding | None:
    s = samples(ctx)
    assert s is not None
    ev: list[Evidence] = []
    parts: list[str] = []
    online = s.get("cpus_online", "tegrastats")
    total = s.get("cpus", "tegrastats")
    if online is not None and total is not None:
        o, t = windowed(ctx, online).v, windowed(ctx, total).v
        n = min(len(o), len(t))
        counted = np.isfinite(o[:n]) & np.isfinite(t[:n])  # a line without a CPU field: NaN
        o, t = o[:n][counted], t[:n][counted]
        n = len(o)
        off = (t - o) > 0
        if n and off.mean() >= OFFLINE:
            k_on, k_all = int(np.median(o)), int(np.median(t))
            ev += [Evidence("cpus_online", k_on, "cores", "tegrastats"),
                   Evidence("cpus", k_all, "cores", "tegrastats"),
                   Evidence("lines_with_cores_offline_pct", round(100 * off.mean(), 1), "%",
                            "tegrastats")]
            parts.append(f"{k_all - k_on} of {k_all} CPU cores are offline")
    load, freq = s.get("GR3D.load", "tegrastats"), s.get("GR3D.freq", "tegrastats")
    if load is not None and freq is not None:
        lv, fv = windowed(ctx, load).v, windowed(ctx, freq).v
        n = min(len(lv), len(fv))
        busy = (np.nan_to_num(lv[:n]) >= BUSY) & (np.nan_to_num(fv[:n]) > 0)
        if busy.sum() >= MIN_BUSY:
            f = fv[:n][busy]
            if f.max() >= SCALING * f.min():
                ev += [Evidence("gpu_clock_min_busy_mhz", float(f.min()), "MHz", "tegrastats"),
                       Evidence("gpu_clock_max_busy_mhz", float(f.max()), "MHz", "tegrastats")]
                parts.append(f"the GPU clock moves between {f.min():.0f} and {f.max():.0f} MHz "
                             "while the GPU is busy")
    if not parts:
        return None
    return Finding(
        code="jetson-power-mode",
        title="The Jetson does not run at its full clocks: " + "; ".join(parts),
        severity="warning",
        subject="Jetson",
        evidence=ev,
        fix=("Check the power mode with `sudo nvpmodel -q`; select the maximum one (`sudo "
             "nvpmodel -m 0` is MAXN on most modules; /etc/nvpmodel.conf lists them), then pin "
             "the clocks with `sudo jetson_clocks` before measuring."),
        confidence="suspected",
    )
