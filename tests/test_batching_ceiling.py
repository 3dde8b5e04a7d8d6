"""Frames, not buffers, behind a batching element; and the model's ceiling held against the
pipeline: the same batch, precision and input size, or refused with the reason."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipesight.errors import UserError
from pipesight.readers.ceiling import read

APP = Path(__file__).parent / "apps" / "batch_app.py"
TRTEXEC = Path(__file__).parent / "fixtures" / "gpu" / "trtexec_b8_fp16_trt10.log"


def profile(tmp_path: Path, name: str, *args: str, ceiling: str | None = None) -> dict:
    extra = ["--ceiling", ceiling] if ceiling else []
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(tmp_path / name),
                        "--json", *extra, "--", sys.executable, str(APP), *args],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def bench_json(tmp_path: Path, batch: int, fps: float = 2000.0) -> str:
    p = tmp_path / f"bench-b{batch}.json"
    p.write_text(json.dumps({"model": "yolo-tiny", "batch": batch, "input_size": 64,
                             "precision": "fp16", "device": "test", "results": [],
                             "ceiling": {"backend": "cudagraph", "fps": fps}}))
    return str(p)


@pytest.fixture(scope="module")
def gi():
    return pytest.importorskip("gi")


def test_throughput_counts_frames_behind_a_batcher(tmp_path, gi):
    v = profile(tmp_path, "b3", "3", "3")
    (b,) = v["batching"]
    assert b["element"] == "b" and b["batch_size_property"] == 3 and b["sink_pads"] == 3
    assert b["frames_per_buffer"] == pytest.approx(3, abs=0.1)
    (s,) = v["sinks"]
    assert s["unit"] == "frames" and s["frames"] == pytest.approx(3 * s["buffers"], rel=0.05)
    # three live sources at 200 frames/s each
    assert v["throughput_unit"] == "frames"
    assert v["throughput_fps"] == pytest.approx(600, rel=0.1)


def test_an_element_that_does_not_say_it_batches_is_not_one(tmp_path, gi):
    v = profile(tmp_path, "noprop", "3", "3", "--no-prop")
    assert v["batching"] == []
    assert v["throughput_fps"] == pytest.approx(200, rel=0.1)  # its output buffers


def test_a_ceiling_at_another_batch_is_refused_with_the_reason(tmp_path, gi):
    v = profile(tmp_path, "refused", "3", "3", ceiling=bench_json(tmp_path, 8))
    c = v["ceiling"]
    assert c["accepted"] is False and v["headroom"] is None
    assert "batch 8 in the ceiling, 3 in the pipeline" in c["refused_because"][0]
    f = next(f for f in v["findings"] if f["code"] == "ceiling-refused")
    assert "batch 8" in f["title"]


def test_a_matching_ceiling_gives_the_headroom(tmp_path, gi):
    v = profile(tmp_path, "ok", "3", "3", ceiling=bench_json(tmp_path, 3, fps=1200.0))
    c = v["ceiling"]
    assert c["accepted"] is True and c["pipeline"]["batch"] == 3
    assert "measured at b" in c["pipeline"]["batch_from"]
    assert v["headroom"] == pytest.approx(0.5, rel=0.1)
    assert any("precision" in u for u in c["unchecked"])  # the pipeline does not say
    f = next(f for f in v["findings"] if f["code"] == "model-ceiling")
    assert "of the model alone" in f["title"] and "leaves out" in f["title"]


def test_ceiling_inputs():
    c = read(str(TRTEXEC))
    assert (c.batch, c.precision, c.input_size) == (8, "fp16", (640, 640))
    assert c.fps == pytest.approx(61.0218 * 8, rel=1e-3)
    assert c.leaves_out[0].startswith("host-device copies")  # --noDataTransfers
    assert read("250").fps == 250.0 and read("250").batch is None


@pytest.mark.parametrize("spec, says", [
    ("-3", "positive"), ("nan", "positive"), ("no/such/file", "not a number and not a file"),
])
def test_bad_ceilings_are_one_line(spec, says, tmp_path):
    with pytest.raises(UserError, match=says):
        read(spec)
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "--ceiling", spec, "-o",
                        str(tmp_path / "x"), "--", "true"], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x").exists()  # refused before anything ran


def test_a_report_without_a_ceiling_is_refused(tmp_path):
    p = tmp_path / "b.json"
    p.write_text(json.dumps({"batch": 8, "ceiling": None}))
    with pytest.raises(UserError, match="without a ceiling"):
        read(str(p))


def test_a_ceiling_the_pipeline_beats_is_refused(tmp_path, gi):
    v = profile(tmp_path, "beaten", "3", "3", ceiling=bench_json(tmp_path, 3, fps=100.0))
    assert v["ceiling"]["accepted"] is False and v["headroom"] is None
    assert "runs faster" in v["ceiling"]["refused_because"][0]
