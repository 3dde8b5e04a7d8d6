"""compare with GPU timelines (Nsight Systems exports): each device's busy share, idle gaps and
the GPU time per NVTX range are carried from each side's verdict and compared.

The before/after pair is the GPU lab pipeline before and after tuning (tests/fixtures/gpu:
naive.sqlite and tuned.sqlite.xz, captured on an H200): the post-processing moved onto the GPU
and overlapped, so the GPU went from starved to full.
"""

from __future__ import annotations

import lzma
from pathlib import Path

import pytest

from pipesight.errors import UserError
from pipesight.workflows.answer import analyze_path
from pipesight.workflows.sides import compare_paths

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "gpu"
SMALL = Path("nsys") / "nsys-2022.2_a100_saxpy-mpi-cuda.sqlite"
TWO_GPUS = Path("nsys") / "nsys-2026.2_h100x2_fastvideo_1s-window.sqlite"


def _reads_nsys(path: Path) -> bool:
    try:
        analyze_path(path)
    except UserError:
        return False
    return True


@pytest.fixture(scope="module")
def nsys_reader(corpus) -> None:
    if not _reads_nsys(corpus / SMALL):
        pytest.skip("no Nsight Systems reader registered yet (issue #3)")


@pytest.fixture(scope="module")
def lab_pair(tmp_path_factory) -> tuple[Path, Path]:
    naive, tuned_xz = FIXTURES / "naive.sqlite", FIXTURES / "tuned.sqlite.xz"
    if not (naive.is_file() and tuned_xz.is_file()):
        pytest.skip(f"no before/after GPU fixtures in {FIXTURES}")
    tuned = tmp_path_factory.mktemp("gpu") / "tuned.sqlite"
    with lzma.open(tuned_xz) as src, open(tuned, "wb") as dst:
        dst.write(src.read())
    return naive, tuned


def gpu_numbers(path: Path) -> dict[str, float]:
    _, _, v, _ = analyze_path(path)
    return {str(g["device"]): 100.0 * g["busy_fraction"] for g in v.gpus}


def assert_carries_each_verdict(c, a: Path, b: Path) -> None:
    ga, gb = gpu_numbers(a), gpu_numbers(b)
    rows = c.section("gpu")
    assert {r.a for r in rows if r.a} == set(ga) and {r.b for r in rows if r.b} == set(gb)
    for r in rows:
        ch = r.changes["gpu_busy_pct"]
        assert ch.a == (pytest.approx(ga[r.a]) if r.a else None)
        assert ch.b == (pytest.approx(gb[r.b]) if r.b else None)


def test_an_export_against_itself_shows_no_change(corpus, nsys_reader):
    p = corpus / TWO_GPUS
    c = compare_paths(p, p)
    assert_carries_each_verdict(c, p, p)
    assert len(c.section("gpu")) == 2
    assert c.section("nvtx"), "the export has NVTX ranges with GPU work"
    for r in c.rows:
        assert r.a == r.b
        assert not any(ch.significant for ch in r.changes.values())
    assert not c.bottleneck.moved


def test_two_different_exports(corpus, nsys_reader):
    a, b = corpus / SMALL, corpus / TWO_GPUS
    c = compare_paths(a, b)
    assert_carries_each_verdict(c, a, b)
    busy = next(r for r in c.section("gpu") if r.a == r.b == "0").changes["gpu_busy_pct"]
    assert busy.significant
    assert f"GPU 0 busy {'rose' if busy.delta > 0 else 'fell'}" in c.sentence
    only_b = [r.b for r in c.section("gpu") if r.a is None]
    assert only_b == ["1"]  # the second H100 exists in B only


def test_gpu_change_before_and_after(lab_pair, nsys_reader):
    """The thread lab's Nsight exports alone (no GStreamer trace, so no throughput)."""
    before, after = lab_pair
    c = compare_paths(before, after)
    assert_carries_each_verdict(c, before, after)
    _, _, va, _ = analyze_path(before)
    _, _, vb, _ = analyze_path(after)
    assert va.throughput_fps is None and vb.throughput_fps is None
    assert c.throughput.a is None and c.throughput.b is None
    assert "neither run has a throughput" in c.sentence
    # the lab's own change: a starved GPU became a full one, and the sentence says so
    assert va.bottleneck.kind == "gpu-starved" and vb.bottleneck.kind == "gpu"
    assert c.bottleneck.moved
    assert c.sentence.startswith("The bottleneck moved from a starved GPU to the GPU")
    busy = next(r for r in c.section("gpu") if r.a == r.b == "0").changes["gpu_busy_pct"]
    assert busy.significant and busy.delta > 50
    assert "GPU 0 busy rose" in c.sentence


def test_gstreamer_gpu_runs_before_and_after(tmp_path):
    """The GStreamer lab's naive and tuned run directories (trace and export on one clock):
    the throughput and the bottleneck's move come out of the traces."""
    import tarfile

    fx = Path(__file__).parent / "fixtures" / "gst_gpu"
    for n in ("naive", "tuned"):
        with tarfile.open(fx / f"{n}-run.tar.xz") as t:
            t.extractall(tmp_path, filter="data")
        with lzma.open(fx / f"{n}-nsys.sqlite.xz") as src, \
                open(tmp_path / n / "nsys.sqlite", "wb") as dst:
            dst.write(src.read())
    c = compare_paths(tmp_path / "naive", tmp_path / "tuned")
    _, _, va, _ = analyze_path(tmp_path / "naive")
    _, _, vb, _ = analyze_path(tmp_path / "tuned")
    assert c.throughput.a == pytest.approx(va.throughput_fps)
    assert c.throughput.b == pytest.approx(vb.throughput_fps)
    assert c.throughput.significant and c.throughput.b > 3 * c.throughput.a
    assert c.bottleneck.moved and "the bottleneck moved from probe@q_post.src" in c.sentence
    assert f"({va.throughput_fps:.1f} to {vb.throughput_fps:.1f} fps)" in c.sentence
