"""bench-model's measurement and its ceiling rule, on the CPU with the small detector."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from pipesight.ceiling.bench import BackendResult, BenchReport
from pipesight.ceiling.stats import spread


def _row(backend: str, fps: float, batch: int = 8, size: int = 640,
         precision: str = "fp16") -> BackendResult:
    return BackendResult(backend, "ok", fps=spread([fps * 0.99, fps, fps * 1.01]), batch=batch,
                         input_size=size, precision=precision)


def test_ceiling_is_the_fastest_backend_at_the_same_precision_batch_and_size() -> None:
    rep = BenchReport("yolo-x", 8, 640, "fp16", "test")
    rep.results = [_row("eager", 700), _row("compile-cudagraph", 1100),
                   _row("trtexec-log", 5000, batch=16),  # another batch: not comparable
                   _row("int8", 3000, precision="int8"),  # another precision
                   _row("small", 9000, size=320),  # another input size
                   BackendResult("onnxruntime", "skipped", "no CUDA EP")]
    assert rep.ceiling is not None and rep.ceiling.backend == "compile-cudagraph"
    assert rep.to_dict()["ceiling"] == {"backend": "compile-cudagraph", "fps": 1100}
    assert BenchReport("m", 8, 640, "fp16", "test").ceiling is None


def test_spread_summarises_repeats() -> None:
    s = spread([10.0, 11.0, 12.0, 13.0, 100.0])
    assert s.median == 12.0 and s.min == 10.0 and s.max == 100.0 and s.n == 5
    assert s.p10 < s.median < s.p90 <= s.max
    assert s.rel_spread == pytest.approx((s.p90 - s.p10) / 12.0)


def test_bench_model_measures_the_model_on_the_cpu() -> None:
    pytest.importorskip("torch")
    r = subprocess.run([sys.executable, "-m", "pipesight", "bench-model", "--model", "yolo-tiny",
                        "--device", "cpu", "--precision", "fp32", "--batch", "2",
                        "--backends", "eager,onnxruntime,trtexec", "--repeats", "3",
                        "--repeat-seconds", "0.2", "--warmup", "0.2", "--latency-runs", "5",
                        "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    eager, ort, trt = rep["results"]
    assert eager["status"] == "ok" and eager["fps"]["n"] == 3
    assert eager["fps"]["min"] <= eager["fps"]["median"] <= eager["fps"]["max"]
    # one inference of batch 2 takes about 2 / fps seconds: latency and throughput agree
    per_batch_ms = 2 / eager["fps"]["median"] * 1000
    assert 0.2 * per_batch_ms < eager["latency_ms"]["median"] < 5 * per_batch_ms
    assert ort["status"] == trt["status"] == "skipped" and ort["note"] and trt["note"]
    assert rep["ceiling"]["backend"] == "eager"


def _bench_model(*args: str, without_torch: bool = False) -> subprocess.CompletedProcess:
    # sys.modules["torch"] = None makes "import torch" fail as on a machine without it
    block = "import sys; sys.modules['torch'] = None; " if without_torch else ""
    code = block + "import sys; from pipesight.cli import main; sys.exit(main())"
    return subprocess.run([sys.executable, "-c", code, "bench-model", *args],
                          capture_output=True, text=True, timeout=120)


def test_bench_model_bad_input_is_one_line() -> None:
    for args, message in ((["--backends", "eager,tensorrt9"], "unknown backend"),
                          (["--batch", "0"], "--batch must be 1 or more"),
                          (["--backends", "none"], "nothing to do")):
        r = _bench_model(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert message in r.stderr and "Traceback" not in r.stderr


def test_bench_model_without_pytorch_says_which_extra() -> None:
    r = _bench_model("--device", "cpu", "--backends", "eager", without_torch=True)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip() == ("pipesight: bench-model needs PyTorch: pip install "
                                "'pipesight[lab]' (or read a log only: --backends none "
                                "--trtexec-log FILE)")


def test_bench_model_refuses_graph_backends_on_the_cpu() -> None:
    pytest.importorskip("torch")
    r = _bench_model("--device", "cpu", "--backends", "cudagraph")
    assert r.returncode == 2 and "need a CUDA device" in r.stderr and "Traceback" not in r.stderr
