"""The seed's central case on real GStreamer on the GPU, as captured on an H100
(tests/fixtures/gst_gpu/README.md): the GStreamer trace and the Nsight Systems export of one
run, tied on one clock, analysed on the CPU machine."""

from __future__ import annotations

import lzma
import shutil
import tarfile
from pathlib import Path

import pytest

from pipesight.workflows.answer import analyze_path

FIX = Path(__file__).parent / "fixtures" / "gst_gpu"


def unpack(tmp: Path, name: str) -> Path:
    with tarfile.open(FIX / f"{name}-run.tar.xz") as t:
        t.extractall(tmp, filter="data")
    with lzma.open(FIX / f"{name}-nsys.sqlite.xz") as src, \
            open(tmp / name / "nsys.sqlite", "wb") as dst:
        shutil.copyfileobj(src, dst)
    return tmp / name


@pytest.fixture(scope="module")
def naive(tmp_path_factory):
    run = unpack(tmp_path_factory.mktemp("gpu"), "naive")
    return analyze_path(run)


@pytest.fixture(scope="module")
def tuned(tmp_path_factory):
    run = unpack(tmp_path_factory.mktemp("gpu"), "tuned")
    return analyze_path(run)


def test_naive_the_probe_that_keeps_the_gpu_idle_is_named(naive):
    _, _, v, _ = naive
    b = v.bottleneck
    assert (b.kind, b.confidence) == ("gpu-starved", "confirmed")
    assert b.element == "probe@q_post.src" and b.thread == "q_post:src"
    f = next(f for f in v.findings if f.code == "gpu-starved")
    ev = {e.metric: e for e in f.evidence}
    share = ev["busy_during_gaps_pct[q_post:src: probe@q_post.src]"]
    assert share.source == "tracer" and share.value >= 80
    assert ev["gpu_busy_pct"].value < 30
    # the element-bound finding on the same probe agrees with it
    eb = next(f for f in v.findings if f.code == "element-bound")
    assert eb.element == "probe@q_post.src"


def test_naive_clocks_tied_by_the_tracers_marks_within_a_millisecond(naive):
    trace, _, v, _ = naive
    c = v.clocks["gpu"]
    assert c["method"] == "nvtx-marks" and c["points"] >= 5
    assert c["error_us"] < 1000  # measured: 8.5 us (0.7 us residual + 7.8 us mark call)
    assert abs(c["drift_ppm"]) < 50
    # the gaps were ended by launches from traced threads, mostly the probe's thread
    hg = m_host(naive)
    ender = hg.ender()
    assert ender is not None and trace.threads[ender.thread].name == "q_post:src"


def m_host(res):
    _, m, _, _ = res
    (hg,) = m.gpu_host.values()
    return hg


def test_naive_names_the_python_function_and_counts_frames(naive):
    _, _, v, _ = naive
    (cb,) = [c for c in v.callbacks if c["inside"] == "probe@q_post.src"]
    assert "naive_postprocess" in cb["name"] and cb["thread"] == "q_post:src"
    assert v.throughput_unit == "frames"
    (b,) = v.batching
    assert b["element"] == "batcher" and b["batch_size_property"] == 8
    assert 7 <= b["frames_per_buffer"] <= 8
    sink = v.sinks[0]
    assert sink["frames"] == pytest.approx(sink["buffers"] * b["frames_per_buffer"], rel=0.02)


def test_naive_ceiling_checked_against_the_pipeline(naive):
    _, _, v, _ = naive
    c = v.ceiling
    assert c["accepted"] and c["unchecked"] == []
    assert (c["batch"], c["precision"], c["input_size"]) == (8, "fp16", [640, 640])
    assert c["pipeline"]["batch"] == 8 and "batcher" in c["pipeline"]["batch_from"]
    assert v.headroom == pytest.approx(v.throughput_fps / c["fps"], rel=1e-3)
    # closing the gaps would still leave it under the model alone
    f = next(f for f in v.findings if f.code == "gpu-starved")
    assert f.predicted_fps <= c["fps"]


def test_tracer_and_proc_cpu_agree_on_the_gpu_machine(naive):
    """The tracer's per-thread CPU (the thread's CPU clock) against the kernel's accounting
    (/proc, sampled) for the same threads and window: within 5% on each busy thread."""
    _, _, v, _ = naive
    busy = [t for t in v.threads if (t["proc_cpu_pct"] or 0) >= 10]
    assert busy
    for t in busy:
        assert t["cpu_pct"] == pytest.approx(t["proc_cpu_pct"], rel=0.05), t


def test_tuned_under_nsys_is_held_by_traced_graph_launches(tuned):
    """Under nsys with CUDA graphs traced node by node, the tuned pipeline's NMS graph (many
    tiny kernels) takes about 0.6 ms a launch: the instrumented run is limited by its launches,
    not by the GPU, and pipesight says so rather than call it GPU-bound."""
    _, _, v, _ = tuned
    assert v.bottleneck.kind != "gpu"
    lb = next(f for f in v.findings if f.code == "launch-bound")
    assert "q_nms:src" in lb.title
    assert v.gpus[0]["busy_fraction"] < 0.9
    assert v.ceiling["accepted"] and v.headroom < 0.5
    assert v.clocks["gpu"]["method"] == "nvtx-marks"
