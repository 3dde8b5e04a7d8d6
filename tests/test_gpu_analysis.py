"""Verdicts from GPU timelines: simulated pipelines whose bottleneck is known by construction
(tests/nsys_synth.py), and the real corpus exports. Renaming every NVTX range and thread must
not change a verdict."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

import nsys_synth as synth
from pipesight.metrics.ceiling import PipelineModel, check
from pipesight.readers import load
from pipesight.trace.ceiling import Ceiling
from pipesight.verdict import build_verdict
from pipesight.workflows.answer import analyze_path, analyze_trace

OLD = "nsys/nsys-2022.2_a100_saxpy-mpi-cuda.sqlite"
TINY = "nsys/nsys-2026.1_rtx3080_torch-zeros_full.sqlite"
TWO_GPU = "nsys/nsys-2026.2_h100x2_fastvideo_1s-window.sqlite"

SCENARIOS = {
    "post-starve": lambda p: synth.pipeline(p, 0.3, (0.8, 0.7, 0.5)),
    "post-starve-renamed": lambda p: synth.pipeline(p, 0.3, (0.8, 0.7, 0.5),
                                                    names=synth.RENAMED),
    "gpu-busy": lambda p: synth.pipeline(p, 0.2, (0.08, 0.06, 0.06)),
    "producer-starve": lambda p: synth.pipeline(p, 2.0, (0.12, 0.1, 0.08)),
    "post-overlap": lambda p: synth.pipeline(p, 0.3, (0.25, 0.2, 0.15), q_out=2),
    "sync-copies": lambda p: synth.sync_loop(p, 0.8),
}


def verdict_of(path: Path):
    _, _, v, _ = analyze_path(path)
    return v


def codes(v) -> set[str]:
    return {f.code for f in v.findings}


def finding(v, code):
    return next(f for f in v.findings if f.code == code)


def signature(v) -> tuple:
    """What must not change when names change: the kind, confidence and cause's thread id,
    and which findings were made."""
    tid = v.bottleneck.thread.rsplit("(", 1)[-1] if v.bottleneck.thread else None
    return v.bottleneck.kind, v.bottleneck.confidence, tid, sorted(codes(v))


@pytest.fixture(scope="module")
def sims(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("sim")
    return {k: f(d / f"{k}.sqlite") for k, f in SCENARIOS.items()}


def test_post_processing_thread_starving_the_gpu(sims):
    v = verdict_of(sims["post-starve"])
    b = v.bottleneck
    assert (b.kind, b.confidence) == ("gpu-starved", "confirmed")
    assert b.thread == "post (4303)"
    assert "post-processing" in b.summary
    # stage times are 2.0 G per batch against the GPU's G: half the time idle
    assert v.gpus[0]["busy_fraction"] == pytest.approx(0.5, abs=0.03)
    assert v.gpus[0]["idle_gaps"] >= 100
    assert v.gpus[0]["gap_spacing_cv"] < 0.05
    sp = finding(v, "serial-postprocess")
    ev = {e.metric: e.value for e in sp.evidence}
    assert ev["thread_over_gpu_time"] == pytest.approx(2.0, rel=0.05)
    assert ev["gpu_ms_per_batch"] == pytest.approx(6.0, rel=0.02)
    assert ev["thread_ms_per_batch"] == pytest.approx(12.0, rel=0.05)
    # closing the gaps would double the rate
    top = finding(v, "gpu-starved")
    assert {e.metric: e.value for e in top.evidence}["speedup_if_gaps_closed"] == \
        pytest.approx(2.0, rel=0.05)


def test_renamed_ranges_and_threads_get_the_same_verdict(sims):
    a, b = verdict_of(sims["post-starve"]), verdict_of(sims["post-starve-renamed"])
    assert signature(a) == signature(b)
    assert b.bottleneck.thread == "worker-b (4303)"
    assert "tile" in a.bottleneck.summary and "tile" not in b.bottleneck.summary


def test_gpu_kept_busy(sims):
    v = verdict_of(sims["gpu-busy"])
    # full, but only the model alone at the same batch can confirm the pipeline is at its
    # maximum (test_model_alone_throughput_says_how_close_the_pipeline_is)
    assert (v.bottleneck.kind, v.bottleneck.confidence) == ("gpu", "suspected")
    assert v.gpus[0]["busy_fraction"] > 0.95
    assert v.gpus[0]["idle_gaps"] == 0
    assert "serial-postprocess" not in codes(v)
    # the second signal: the launching thread waits on its events for the GPU
    ev = {e.metric.split("[")[0]: e for e in finding(v, "gpu-bound").evidence}
    assert ev["launcher_waits_for_gpu_pct"].source == "nsys-cuda-api"


def test_starved_producer_is_not_blamed_on_post_processing(sims):
    v = verdict_of(sims["producer-starve"])
    b = v.bottleneck
    assert (b.kind, b.confidence) == ("gpu-starved", "confirmed")
    assert b.thread == "decoder (4301)"
    assert "producing the GPU's input" in b.summary
    assert "serial-postprocess" not in codes(v)


def test_synchronization_gaps_are_not_blamed_on_post_processing(sims):
    v = verdict_of(sims["sync-copies"])
    b = v.bottleneck
    assert b.kind == "gpu-starved" and b.thread == "main-loop (5101)"
    assert "waits for the GPU" in b.summary
    assert "serial-postprocess" not in codes(v)
    assert "gpu-pageable-copy" in codes(v)


def test_busy_post_thread_that_overlaps_inference_costs_nothing(sims):
    v = verdict_of(sims["post-overlap"])
    assert v.bottleneck.kind == "gpu"
    assert "serial-postprocess" not in codes(v)
    assert not any(f.kind == "gpu-starved" for f in v.findings)


def test_model_alone_throughput_says_how_close_the_pipeline_is(sims):
    trace, _ = load(sims["gpu-busy"])
    trace.ceiling = Ceiling(fps=200.0, source="trtexec --batch=4", batch=4)
    m, v0 = analyze_trace(trace)
    assert v0.bottleneck.confidence == "suspected"  # the GPU full, but against what?
    m.throughput_fps = 190.0  # the pipeline's measured rate, as a GStreamer trace gives it
    m.ceiling = check(trace.ceiling, PipelineModel(), m.throughput_fps)
    v = build_verdict(trace, m)
    assert (v.bottleneck.kind, v.bottleneck.confidence) == ("gpu", "confirmed")
    assert "95% of the model alone" in v.bottleneck.summary
    ev = {e.metric: e for e in finding(v, "gpu-bound").evidence}
    assert ev["share_of_model_alone_pct"].value == 95.0
    assert v.to_dict()["headroom"] == 0.95


# -- the corpus ---------------------------------------------------------------------------------

def test_saxpy_mpi_is_starved_and_says_what_it_cannot_see(corpus):
    v = verdict_of(corpus / OLD)
    b = v.bottleneck
    assert (b.kind, b.confidence) == ("gpu-starved", "suspected")
    # MPI ranges cover a quarter of the idle time: named, but not as the cause
    assert "MPI Rank 0" in b.summary and "no traced CPU activity covers" in b.summary
    assert v.gpus[0]["idle_gaps"] == 4
    assert "gpu-sync-copy" in codes(v)


def test_two_gpu_slice_is_gpu_bound_on_both_devices(corpus):
    v = verdict_of(corpus / TWO_GPU)
    bound = [f for f in v.findings if f.code == "gpu-bound"]
    assert sorted(f.subject for f in bound) == ["GPU 0", "GPU 1"]
    assert v.bottleneck.kind == "gpu"
    assert [round(d["busy_fraction"], 2) for d in v.gpus] == [0.99, 0.99]


def test_tiny_export_is_too_little_to_judge(corpus):
    v = verdict_of(corpus / TINY)
    assert v.bottleneck.kind == "unknown"
    assert "Too little GPU activity" in v.bottleneck.summary


def test_export_without_gpu_operations_says_so(corpus, tmp_path):
    p = tmp_path / "no-gpu.sqlite"
    shutil.copy(corpus / TINY, p)
    p.chmod(0o644)
    con = sqlite3.connect(p)
    for t in ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY"):
        con.execute(f"DELETE FROM {t}")
    con.commit()
    con.close()
    v = verdict_of(p)
    assert v.bottleneck.kind == "unknown" and "no GPU operations" in v.bottleneck.summary
    assert v.gpus == []


def _rename_everything(src: Path, dst: Path) -> None:
    """A copy whose NVTX texts, domains and thread names are all replaced."""
    shutil.copy(src, dst)
    dst.chmod(0o644)
    con = sqlite3.connect(dst)
    have = {r[0] for r in con.execute("SELECT name FROM sqlite_master")}
    if "NVTX_EVENTS" in have:
        con.execute("UPDATE NVTX_EVENTS SET text = 'r' || hex(text) WHERE text IS NOT NULL")
        con.execute("UPDATE StringIds SET value = 'n' || id WHERE id IN "
                    "(SELECT textId FROM NVTX_EVENTS)")
    con.execute("UPDATE StringIds SET value = 't' || id WHERE id IN "
                "(SELECT nameId FROM ThreadNames)")
    con.commit()
    con.close()


@pytest.mark.parametrize("name", [OLD, TWO_GPU])
def test_corpus_export_with_renamed_ranges_and_threads_gets_the_same_verdict(corpus, tmp_path,
                                                                          name):
    renamed = tmp_path / "renamed.sqlite"
    _rename_everything(corpus / name, renamed)
    a, b = verdict_of(corpus / name), verdict_of(renamed)
    assert signature(a) == signature(b)
    assert [d["busy_fraction"] for d in a.gpus] == [d["busy_fraction"] for d in b.gpus]
    if name == OLD:  # the names really changed
        assert "MPI_Send" in a.bottleneck.summary and "MPI_Send" not in b.bottleneck.summary
