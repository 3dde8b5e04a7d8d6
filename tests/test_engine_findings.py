"""The engine, GPU and clock findings on NVML-shaped samples built here (no GPU on this
machine): the thresholds, the engine count and ceiling arithmetic, the second signals, and what
does not fire."""

from __future__ import annotations

import numpy as np

from pipesight.analyses import Context, clocks, engines
from pipesight.metrics import compute
from pipesight.trace import Samples, Series, Trace
from pipesight.verdict import build_verdict

N = 60  # samples, 100 ms apart


def _series(name: str, values, source: str = "nvml", device: str = "GPU 0", unit: str = "%",
            **meta) -> Series:
    v = np.asarray(values, np.float64)
    return Series(name, unit, source, device, np.arange(v.size) * 0.1, v, meta=meta)


def _trace(*series: Series, nvdec_count: int | None = 7, root_pid: int | None = 4242) -> Trace:
    s = Samples(origin="the run's start")
    for x in series:
        s.add(x)
    s.meta["nvml"] = {"gpus": [{"index": 0, "name": "NVIDIA H100 80GB HBM3",
                                "nvdec_count": nvdec_count, "max_sm_mhz": 1980,
                                "power_limit_mw": 700000,
                                "power_default_limit_mw": 700000}],
                      "root_pid": root_pid}
    return Trace(samples=s)


def _run(trace: Trace, analysis) -> list:
    return analysis(Context(trace, compute(trace)))


def _perf(values, device: str = "stream 0") -> Series:
    v = np.asarray(values, np.float64)
    return Series("fps", "fps", "deepstream-perf", device, np.arange(v.size, dtype=float), v,
                  "index")


def test_decoder_saturated_with_engine_count_and_ceiling() -> None:
    dec = [10] * 10 + [97] * 50  # idle start, then busy: the stretch is what counts
    t = _trace(_series("dec_util", dec), _perf([0, 240, 242, 238, 240, 241]))
    [f] = _run(t, engines.analyze)
    ev = {e.metric: e.value for e in f.evidence}
    assert f.code == "engine-saturated" and f.kind == "hw-engine" and f.severity == "critical"
    assert ev["nvdec_engines"] == 7 and ev["nvdec_busy_in_stretch_pct"] == 97.0
    fps = (240 + 242 + 238 + 240 + 241) / 5
    assert ev["pipeline_fps"] == round(fps, 2)
    assert ev["nvdec_ceiling_fps"] == round(fps * 100 / 97, 1)
    assert ev["nvdec_ceiling_per_engine_fps"] == round(fps * 100 / 97 / 7, 1)
    assert "one figure for all 7 NVDEC engines" in f.title
    # steady DeepStream FPS is the second signal
    assert f.confidence == "confirmed" and f.signal_sources == {"nvml", "deepstream-perf"}


def test_own_processes_confirm_and_others_do_not() -> None:
    dec = [96] * N
    mine = _series("dec_util", [95] * N, "nvml-process", "GPU 0 pid 4242", pid=4242, gpu=0)
    theirs = _series("dec_util", [95] * N, "nvml-process", "GPU 0 pid 777", pid=777, gpu=0)
    [f] = _run(_trace(_series("dec_util", dec), mine), engines.analyze)
    assert f.confidence == "confirmed" and "nvml-process" in f.signal_sources
    [g] = _run(_trace(_series("dec_util", dec), theirs), engines.analyze)
    ev = {e.metric: e.value for e in g.evidence}
    assert g.confidence == "suspected" and "profiled_processes_share_pct" not in ev


def test_unknown_engine_count_is_said() -> None:
    [f] = _run(_trace(_series("enc_util", [93] * N), nvdec_count=None), engines.analyze)
    assert "NVENC" in f.title and "did not tell how many engines" in f.title
    assert f.severity == "warning"  # 93% is saturated, below the critical 95%


def test_short_or_broken_busy_stretches_do_not_fire() -> None:
    # busy 90%+ for only 10 of 60 samples; and alternating busy/idle
    assert _run(_trace(_series("dec_util", [95] * 10 + [40] * 50)), engines.analyze) == []
    assert _run(_trace(_series("dec_util", [95, 50] * 30)), engines.analyze) == []
    assert _run(_trace(_series("dec_util", [89] * N)), engines.analyze) == []


def test_gpu_busy_and_verdict_names_the_engine_kind() -> None:
    t = _trace(_series("gpu_util", [100] * N), _series("dec_util", [98] * N),
               _series("sm_clock", [1980] * N, unit="MHz"))
    found = {f.code: f for f in _run(t, engines.analyze)}
    gpu = found["gpu-util-saturated"]
    assert gpu.kind == "gpu" and "not how full its multiprocessors were" in gpu.title
    assert {e.metric: e.value for e in gpu.evidence}["sm_clock_max_mhz"] == 1980
    v = build_verdict(t, compute(t))
    assert v.bottleneck.kind in ("gpu", "hw-engine") and v.bottleneck.confidence == "suspected"


def test_power_capped_clocks() -> None:
    util = [90] * N
    reasons = [0x4] * 40 + [0] * 20  # software power cap on 2/3 of the busy samples
    t = _trace(_series("gpu_util", util), _series("clock_reasons", reasons, unit="bits"),
               _series("sm_clock", [1400] * N, unit="MHz"),
               _series("power", [699000] * N, unit="mW"))
    [f] = _run(t, clocks.analyze)
    ev = {e.metric: e.value for e in f.evidence}
    assert f.code == "gpu-throttled"
    assert ev["busy_samples_software_power_cap_pct"] == round(100 * 40 / 60, 1)
    assert ev["sm_clock_busy_mean_mhz"] == 1400 and ev["power_limit_w"] == 700.0
    # idle samples with a power-cap bit do not count: the GPU was not working
    t2 = _trace(_series("gpu_util", [5] * N), _series("clock_reasons", [0x4] * N, unit="bits"))
    assert _run(t2, clocks.analyze) == []


def test_low_clocks_without_a_reason() -> None:
    t = _trace(_series("gpu_util", [80] * N), _series("clock_reasons", [0] * N, unit="bits"),
               _series("sm_clock", [1005] * N, unit="MHz"))
    [f] = _run(t, clocks.analyze)
    assert "1005 of 1980 MHz while busy" in f.title and "no power or thermal reason" in f.title
    # at 80% of the maximum it is not called low
    t2 = _trace(_series("gpu_util", [80] * N), _series("clock_reasons", [0] * N, unit="bits"),
                _series("sm_clock", [1600] * N, unit="MHz"))
    assert _run(t2, clocks.analyze) == []
