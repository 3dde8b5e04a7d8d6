"""trtexec logs: throughput, batch semantics and latency lines, through the reader and the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipesight.errors import UserError
from pipesight.readers.trtexec_log import parse_text, read

FIX = Path(__file__).parent / "fixtures" / "gpu"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=120)


def test_explicit_batch_log_gives_fps_as_qps_times_batch() -> None:
    run = read(FIX / "trtexec_b8_fp16_trt10.log")
    assert run.throughput_qps == pytest.approx(61.0218)
    assert run.batch == 8 and not run.implicit_batch
    assert run.fps == pytest.approx(61.0218 * 8)
    assert run.input_shapes == {"images": [8, 3, 640, 640]}
    assert run.input_size == (640, 640)
    assert run.tensorrt_version == "10.8.0"
    assert run.precision == "FP32+FP16"
    assert run.device == "NVIDIA H100 80GB HBM3"
    gpu = run.latency_ms["GPU Compute Time"]
    assert gpu["median"] == pytest.approx(16.3447) and gpu["p99"] == pytest.approx(16.8093)
    assert gpu["p90"] == pytest.approx(16.4712) and gpu["min"] == pytest.approx(16.2017)
    assert run.latency_ms["Enqueue Time"]["mean"] == pytest.approx(0.0211426)
    assert run.walltime_s == pytest.approx(3.01531)


def test_implicit_batch_log_already_counts_frames() -> None:
    run = read(FIX / "trtexec_implicit_batch_trt8.log")
    assert run.implicit_batch and run.batch == 16
    assert run.fps == pytest.approx(3309.59)  # not x16: trtexec multiplied already
    assert run.tensorrt_version == "8.2.5"
    assert run.latency_ms["End-to-End Host Latency"]["median"] == pytest.approx(6.88134)
    assert run.input_size is None  # "Input inference shapes: model" names none


def test_shape_from_the_command_line_when_the_options_block_is_missing() -> None:
    text = ("&&&& RUNNING TensorRT.trtexec [TensorRT v100900] # trtexec --onnx=m.onnx "
            "--shapes=input:4x3x224x224,mask:4x1 --fp16\n"
            "[I] Throughput: 100 qps\n")
    run = parse_text(text)
    assert run.batch == 4 and run.fps == 400
    assert "command line" in run.batch_source
    bare = parse_text("[I] Throughput: 100 qps\n")
    assert bare.fps == 100 and bare.notes


def test_a_file_that_is_not_a_trtexec_log_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="Throughput"):
        read(FIX / "README.md")
    with pytest.raises(UserError, match="cannot read"):
        read(tmp_path / "missing.log")
    r = _cli("bench-model", "--backends", "none", "--trtexec-log", str(FIX / "README.md"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_bench_model_reads_logs_without_a_gpu() -> None:
    r = _cli("bench-model", "--backends", "none", "--json",
             "--trtexec-log", str(FIX / "trtexec_b8_fp16_trt10.log"),
             "--trtexec-log", str(FIX / "trtexec_implicit_batch_trt8.log"))
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert (rep["batch"], rep["input_size"], rep["precision"]) == (8, 640, "fp16")
    fps = [x["fps"]["median"] for x in rep["results"]]
    assert fps == pytest.approx([488.1744, 3309.59])
    # the faster log ran another batch and shape: it is listed but is not the ceiling
    assert rep["ceiling"] == {"backend": "trtexec-log", "fps": pytest.approx(488.1744)}
    text = _cli("bench-model", "--backends", "none", "--trtexec-log",
                str(FIX / "trtexec_implicit_batch_trt8.log"), "--trtexec-log",
                str(FIX / "trtexec_b8_fp16_trt10.log"))
    assert "not comparable" in text.stdout  # the second log differs from the first's batch
