"""The lab pipeline as a real GStreamer pipeline (``lab gpu --engine gst``), on the CPU: the lab
clips decoded by avdec_h264, the small detector, the lab's Python elements. Naive and tuned must
draw the same pictures, the pictures must be what the clips and the model make, and a
``pipesight profile`` run must show the pipeline's elements, pads, properties and threads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import needs_gst

torch = pytest.importorskip("torch")
pytest.importorskip("gi")

from pipesight.lab.gpu.config import LabConfig  # noqa: E402
from pipesight.lab.gpu.pipeline import run_lab  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
GREEN = np.array([0, 255, 0], np.uint8)
CPU_ARGS = ["--device", "cpu", "--decoder", "avdec_h264", "--model", "yolo-tiny", "--backend",
            "eager", "--precision", "fp32", "--output-size", "320x180"]


def _have(element: str) -> bool:
    from pipesight.lab.gpu.gst_media import require_gst

    try:
        return require_gst().ElementFactory.find(element) is not None
    except Exception:  # no introspection data for Gst
        return False


pytestmark = needs_gst
needs_avdec = pytest.mark.skipif(not _have("avdec_h264"), reason="GStreamer's avdec_h264 "
                                 "(gstreamer1.0-libav) or Gst's introspection data is missing")
needs_nvdec = pytest.mark.skipif(not (torch.cuda.is_available() and _have("nvh264dec")),
                                 reason="needs CUDA and GStreamer's nvh264dec")


def _cfg(mode: str, **kw) -> LabConfig:
    base = dict(engine="gst", mode=mode, streams=3, batch=6, model="yolo-tiny", backend="eager",
                precision="fp32", device="cpu", decoder="avdec_h264", out_width=320,
                out_height=180, max_batches=4, collect=True, nvtx=False)
    base.update(kw)
    return LabConfig(**base)


def _pipesight(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=timeout, cwd=REPO)


@needs_avdec
def test_naive_and_tuned_draw_identical_pictures() -> None:
    naive, tuned = run_lab(_cfg("naive")), run_lab(_cfg("tuned"))
    # 4 batches of 6 frames from 3 streams: 2 pictures a batch
    assert naive.engine == tuned.engine == "gst"
    assert naive.batches == tuned.batches == 4
    assert naive.frames == tuned.frames == 24
    assert len(naive.outputs) == len(tuned.outputs) == 8
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


def _decoded_frames(clip: Path, n: int) -> torch.Tensor:
    """The first n frames of a clip as avdec_h264 decodes them, [n, H * 3 / 2, W] I420."""
    raw = subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={clip}", "!", "qtdemux",
                          "!", "h264parse", "!", "avdec_h264", "!", "video/x-raw,format=I420",
                          "!", "fdsink", "fd=1"], capture_output=True, timeout=120,
                         check=True).stdout
    size = 1280 * 720 * 3 // 2
    return torch.from_numpy(np.frombuffer(raw[: n * size], np.uint8).copy()).view(n, 1080, 1280)


@needs_avdec
def test_first_batch_is_the_clips_and_the_models_pictures() -> None:
    """Batch 0 rebuilt by hand from the clips: slot s holds frame s // 3 of stream s % 3, the
    picture of group g tiles frame g of every stream with the boxes the model finds on it."""
    from pipesight.lab.gpu.compose import TileLayout, draw_numpy, tile_numpy
    from pipesight.lab.gpu.postprocess import NmsParams, nms_frame_numpy
    from pipesight.lab.gpu.sources import clip_for, yuv420_to_rgb
    from pipesight.nets.detector import SPECS, build

    out = run_lab(_cfg("naive", max_batches=1)).outputs
    assert len(out) == 2
    per_stream = [yuv420_to_rgb(_decoded_frames(clip_for(s), 2), 720, 1280, "i420")
                  for s in range(3)]
    frames = torch.stack([per_stream[s % 3][s // 3] for s in range(6)])
    spec = SPECS["yolo-tiny"]
    x = torch.nn.functional.interpolate(frames.permute(0, 3, 1, 2).float(), size=(160, 160),
                                        mode="bilinear", align_corners=False) / 255.0
    with torch.inference_mode():
        det = build(spec)(x.contiguous()).numpy()
    layout = TileLayout(3, 320, 180)
    boxes = [nms_frame_numpy(d, NmsParams.of(spec))[0] for d in det]
    for g in range(2):
        want = tile_numpy([f.numpy() for f in frames[3 * g:3 * g + 3]], layout)
        draw_numpy(want, boxes[3 * g:3 * g + 3], 160, layout)
        assert np.array_equal(out[g], want)


def _profile(tmp_path: Path, mode: str, *lab_args: str,
             duration: float = 120) -> tuple[Path, subprocess.CompletedProcess]:
    run = tmp_path / mode
    r = _pipesight("profile", "-o", str(run), "--duration", str(duration), "--",
                   sys.executable, "-m", "pipesight", "lab", "gpu", "--engine", "gst", "--mode",
                   mode, "--streams", "2", "--batch", "4", *CPU_ARGS, *lab_args)
    assert r.returncode == 0, r.stdout + r.stderr
    return run, r


@needs_avdec
@pytest.mark.slow
@pytest.mark.parametrize("mode", ["naive", "tuned"])
def test_profile_sees_the_elements_pads_and_threads(tmp_path: Path, mode: str) -> None:
    from pipesight.readers.run_dir import load
    from pipesight.trace.topology import Element

    batches = 6
    run, _ = _profile(tmp_path, mode, "--batches", str(batches), "--json")
    result = json.loads((run / "stdout.log").read_text())
    assert result["batches"] == batches and result["frames"] == batches * 4
    trace = load(run)
    topo = trace.topology

    def el(name: str) -> Element:
        e = topo.by_name(name)
        assert e is not None, f"{name} is not in the trace"
        return e

    batcher, infer = el("batcher"), el("infer")
    assert batcher.factory == "labbatcher" and infer.factory == "labinfer"
    assert el("sink").factory == "labsink" and el("sink").is_sink
    assert batcher.props["batch-size"] == 4 and infer.props["batch-size"] == 4
    assert batcher.props["width"] == batcher.props["height"] == 160
    assert infer.props["precision"] == "fp32" and infer.props["model"] == "yolo-tiny"
    assert (infer.props["width"], infer.props["height"]) == (160, 160)
    steps = ["nms", "tiler", "osd"]
    if mode == "tuned":
        assert [el(n).factory for n in steps] == ["labnms", "labtiler", "labosd"]
    else:
        assert all(topo.by_name(n) is None for n in steps)

    pads = {(topo.name(p.element), p.name): pid for pid, p in topo.pads.items()}
    names = {t.index: t.name for t in trace.threads}
    flow = trace.flow

    def pushes_into(element: str, pad: str) -> np.ndarray:
        return flow.peer == pads[(element, pad)]

    def threads(mask: np.ndarray) -> set[str]:
        return {names[int(i)] for i in np.unique(flow.thread[mask])}

    # one buffer per batch leaves the batcher, from its own task
    out = flow.pad == pads[("batcher", "src")]
    assert int(flow.count[out].sum()) == batches
    assert threads(out) == {"batcher:src"}
    # one buffer per frame enters each sink pad, on that stream's queue thread; the batcher
    # refuses (EOS) what comes after the last batch, so a few more may knock
    for s in range(2):
        into = pushes_into("batcher", f"sink_{s}")
        assert batches * 2 <= int(flow.count[into].sum()) <= batches * 2 + 6
        assert threads(into) == {f"q_dec{s}:src"}
    # every batch reaches the sink; after inference, the naive pipeline runs on one thread (its
    # probe sits on q_post's src pad), the tuned one hands each step to a thread of its own
    into_sink = pushes_into("sink", "sink")
    assert int(flow.count[into_sink].sum()) == batches
    if mode == "naive":
        assert threads(into_sink) == {"q_post:src"}
        probe = el("probe@q_post.src")  # the tracer's pseudo-element for the probe's time
        assert probe.probe_of == pads[("q_post", "src")]
        r = _pipesight("analyze", str(run), "--json")
        callbacks = json.loads(r.stdout)["callbacks"]
        assert [(c["thread"], c["inside"]) for c in callbacks] == [
            ("q_post:src", "probe@q_post.src")]
        assert "naive_postprocess" in callbacks[0]["name"]
        # counted in the window, which opens at the first buffer reaching the sink: the first
        # call, which precedes it, is left out
        assert batches - 1 <= callbacks[0]["calls"] <= batches
    else:
        assert threads(into_sink) == {"q_sink:src"}
        for step in steps:
            assert threads(pushes_into(step, "sink")) == {f"q_{step}:src"}


@needs_avdec
@pytest.mark.slow
def test_profile_duration_stops_it_with_eos_and_it_reports_fps(tmp_path: Path) -> None:
    """pipesight profile stops a command with SIGINT; the lab turns it into EOS, drains, exits 0
    and prints its FPS (frames, after the warm-up)."""
    # the stop comes long after the start (importing torch, building the model: over 12 s on
    # this 2-core VM with two other jobs running) and long before the lab's own --duration
    run, _ = _profile(tmp_path, "tuned", "--warmup", "0.5", "--duration", "600", "--json",
                      duration=20)
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["exit_code"] == 0 and not manifest["failed"]
    res = json.loads((run / "stdout.log").read_text())
    assert res["engine"] == "gst" and res["mode"] == "tuned" and res["fps"] > 0
    assert res["frames"] == res["batches"] * 4
    assert 0.5 < res["window_s"] < 20
    assert res["fps_counts"].startswith("frames")


@needs_avdec
def test_lab_gpu_gst_command_runs_a_set_duration() -> None:
    r = _pipesight("lab", "gpu", "--engine", "gst", "--mode", "naive", "--streams", "2",
                   *CPU_ARGS, "--warmup", "1", "--duration", "2", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["engine"] == "gst" and res["batch"] == 2 and res["fps"] > 0
    assert res["model"] == "yolo-tiny" and res["precision"] == "fp32"
    assert res["input_size"] == 160
    assert 1.0 < res["window_s"] <= 2.5
    assert res["frames"] >= res["fps"] * res["window_s"]


@needs_avdec
@pytest.mark.parametrize(("args", "message"), [
    (["--source", "gst"], "--source is for the threads engine"),
    (["--frame-size", "160x90"], "--frame-size is for the threads engine"),
    (["--streams", "3", "--batch", "4"], "multiple of --streams"),
    (["--decoder", "vp8dec"], "invalid choice"),
])
def test_gst_engine_bad_input_is_one_line(args: list[str], message: str) -> None:
    r = _pipesight("lab", "gpu", "--engine", "gst", *CPU_ARGS, "--batches", "1", *args)
    assert r.returncode == 2
    assert message in r.stderr and "Traceback" not in r.stderr


def test_decoder_is_for_the_gst_engine() -> None:
    r = _pipesight("lab", "gpu", "--decoder", "avdec_h264", "--device", "cpu", "--batches", "1")
    assert r.returncode == 2 and "--decoder is for --engine gst" in r.stderr
    assert r.stderr.strip().count("\n") == 0


def test_a_missing_pygobject_is_one_line_naming_the_extra() -> None:
    """`import gi` failing as it does where PyGObject is not installed."""
    code = ("import sys; sys.modules['gi'] = None; from pipesight.cli import main; "
            "sys.exit(main(['lab', 'gpu', '--engine', 'gst', '--device', 'cpu', "
            "'--batches', '1']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120, cwd=REPO)
    assert r.returncode == 2
    assert "pip install 'pipesight[gst]'" in r.stderr
    assert r.stderr.strip().count("\n") == 0


@pytest.mark.gpu
@needs_nvdec
def test_on_cuda_naive_and_tuned_draw_identical_pictures() -> None:
    """NVDEC decoding, the batcher's device pre-processing and the tuned steps' CUDA graphs
    against the naive host post-processing, on the GPU."""
    cfg = dict(device="cuda", decoder="nvh264dec", backend="cudagraph", precision="fp16",
               streams=4, batch=8, out_width=640, out_height=360, max_batches=5,
               fuse_prep=False)
    naive, tuned = run_lab(_cfg("naive", **cfg)), run_lab(_cfg("tuned", **cfg))
    assert naive.device.startswith("cuda") and "nvh264dec" in tuned.source
    assert len(naive.outputs) == len(tuned.outputs) == 10
    for a, b in zip(naive.outputs, tuned.outputs, strict=True):
        assert np.array_equal(a, b)
    assert (tuned.outputs[0] == GREEN).all(-1).sum() > 2000
    assert tuned.outputs[0][:180, :320].std() > 10  # a decoded frame, not an empty tile
    assert not tuned.notes  # every tuned step was captured in a CUDA graph
