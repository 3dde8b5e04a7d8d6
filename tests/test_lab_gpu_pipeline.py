"""The lab pipeline on the CPU: real H.264 clips decoded by GStreamer, the small detector, every
stage on its own thread; naive and tuned must draw the same pictures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_gst

torch = pytest.importorskip("torch")

from pipesight.lab.gpu.pipeline import LabConfig, run_lab  # noqa: E402
from pipesight.lab.gpu.sources import GstSource, clip_for, clips  # noqa: E402

FIX = Path(__file__).parent / "fixtures" / "gpu"
GREEN = np.array([0, 255, 0], np.uint8)


def _cfg(mode: str, **kw) -> LabConfig:
    base = dict(mode=mode, streams=3, batch=6, model="yolo-tiny", backend="eager",
                precision="fp32", source="gst", device="cpu", frame_width=160,
                frame_height=90, out_width=320, out_height=180, max_batches=5, collect=True)
    base.update(kw)
    return LabConfig(**base)


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=300)


@needs_gst
def test_naive_and_tuned_pipelines_draw_identical_pictures() -> None:
    naive, tuned = run_lab(_cfg("naive")), run_lab(_cfg("tuned"))
    # 5 batches of 6 frames from 3 streams: 2 pictures a batch
    assert len(naive.outputs) == len(tuned.outputs) == 10
    assert naive.frames == tuned.frames == 30
    for a, b in zip(naive.outputs, tuned.outputs, strict=True):
        assert a.shape == (180, 320, 3) and a.dtype == np.uint8
        assert np.array_equal(a, b)
    for pic in tuned.outputs:
        assert (pic == GREEN).all(-1).sum() > 2000  # boxes drawn
        tw, th = 160, 90  # 2x2 grid; stream 0's tile holds a decoded frame, not black
        assert pic[:th, :tw].std() > 10
        assert not pic[th:, tw:].any()  # the fourth tile has no stream
    assert naive.boxes_per_frame == tuned.boxes_per_frame
    assert 10 <= tuned.boxes_per_frame["mean"] <= 100
    assert tuned.boxes_per_frame["max"] <= 100


@needs_gst
def test_one_picture_is_the_tile_of_the_decoded_frames_with_their_boxes() -> None:
    """Rebuild the first picture from the clips and the model by hand, with the host code."""
    from pipesight.lab.gpu.compose import TileLayout, draw_numpy, tile_numpy
    from pipesight.lab.gpu.postprocess import NmsParams, nms_frame_numpy
    from pipesight.nets.detector import SPECS, build

    out = run_lab(_cfg("tuned", batch=3, max_batches=1)).outputs[0]
    spec = SPECS["yolo-tiny"]
    frames = [next(GstSource(clip_for(s), 160, 90).frames()) for s in range(3)]
    x = torch.stack(frames).permute(0, 3, 1, 2).float()
    x = torch.nn.functional.interpolate(x, size=(160, 160), mode="bilinear",
                                        align_corners=False) / 255.0
    with torch.inference_mode():
        det = build(spec)(x.contiguous(memory_format=torch.channels_last)).numpy()
    layout = TileLayout(3, 320, 180)
    want = tile_numpy([f.numpy() for f in frames], layout)
    draw_numpy(want, [nms_frame_numpy(d, NmsParams.of(spec))[0] for d in det], 160, layout)
    assert np.array_equal(out, want)


@needs_gst
def test_committed_clips_decode_to_the_luma_fixture() -> None:
    """tests/fixtures/gpu/clip0_luma.npz is what openh264dec makes of clip0 (the GPU test
    compares NVDEC's output with it)."""
    ref = np.load(FIX / "clip0_luma.npz")
    raw = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={clips()[0]}", "!",
                          "qtdemux", "!", "h264parse", "!", "openh264dec", "!",
                          "video/x-raw,format=I420", "!", "fdsink", "fd=1"],
                         capture_output=True, timeout=120, check=True).stdout
    size = 1280 * 720 * 3 // 2
    assert len(raw) == 60 * size and len(clips()) == 4
    for i, luma in zip(ref["index"].tolist(), ref["luma"], strict=True):
        got = np.frombuffer(raw[i * size: i * size + 1280 * 720], np.uint8).reshape(720, 1280)
        assert np.array_equal(got, luma)


@needs_gst
def test_lab_gpu_command_runs_a_set_duration_and_reports_fps() -> None:
    r = _cli("lab", "gpu", "--mode", "tuned", "--streams", "2", "--device", "cpu",
             "--source", "gst", "--model", "yolo-tiny", "--precision", "fp32", "--backend",
             "eager", "--frame-size", "160x90", "--output-size", "320x180", "--warmup", "1",
             "--duration", "2", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["mode"] == "tuned" and res["batch"] == 2 and res["fps"] > 0
    assert 1.0 < res["window_s"] <= 2.5
    assert res["frames"] >= res["fps"] * res["window_s"]  # the count covers the window
    assert res["source"].startswith("gst")


@pytest.mark.parametrize(("args", "message"), [
    (["--streams", "3", "--batch", "4"], "multiple of --streams"),
    (["--frame-size", "160x9x"], "WIDTHxHEIGHT"),
    (["--model", "resnet"], "unknown model"),
    (["--duration", "0"], "--duration must be positive"),
])
def test_lab_gpu_bad_input_is_one_line(args: list[str], message: str) -> None:
    r = _cli("lab", "gpu", "--device", "cpu", "--source", "gst", "--model", "yolo-tiny",
             "--batches", "1", *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0


def test_cuda_only_requests_fail_cleanly_without_cuda() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    r = _cli("lab", "gpu", "--source", "synthetic", "--model", "yolo-tiny", "--batches", "1")
    assert r.returncode == 2 and "no CUDA device" in r.stderr
    r = _cli("bench-model", "--model", "yolo-tiny", "--backends", "eager")
    assert r.returncode == 2 and "no CUDA device" in r.stderr
