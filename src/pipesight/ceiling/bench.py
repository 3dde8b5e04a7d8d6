"""The model's own maximum: frames per second of the detector alone, inputs already on the GPU.

Measured the way trtexec measures an engine: warm up, then run inferences back to back on one
stream and divide frames by elapsed device time; repeat that several times and quote the median
with its spread. Latency is timed separately, one inference at a time. The ceiling is the
fastest backend that ran at the same precision, batch and input size.

Inputs rotate among several random buffers (never zeros) so a batch that fits in L2 is not
measured from cache.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipesight.ceiling.stats import Spread, spread
from pipesight.readers.trtexec_log import TrtexecRun, parse_text

ALL_BACKENDS = ("eager", "cudagraph", "compile", "compile-cudagraph", "onnxruntime", "trtexec")
DEFAULT_BACKENDS = ("eager", "cudagraph", "compile", "onnxruntime", "trtexec")


@dataclass
class BackendResult:
    backend: str
    status: str  # "ok" or "skipped" or "failed"
    note: str = ""
    fps: Spread | None = None
    latency_ms: Spread | None = None
    setup_s: float | None = None
    batch: int | None = None
    input_size: int | None = None
    precision: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "backend": self.backend, "status": self.status, "note": self.note,
            "fps": self.fps.to_dict() if self.fps else None,
            "latency_ms": self.latency_ms.to_dict() if self.latency_ms else None,
            "setup_s": self.setup_s, "batch": self.batch, "input_size": self.input_size,
            "precision": self.precision,
        }


@dataclass
class BenchReport:
    model: str
    batch: int
    input_size: int
    precision: str
    device: str
    results: list[BackendResult] = field(default_factory=list)

    @property
    def ceiling(self) -> BackendResult | None:
        same = [r for r in self.results if r.status == "ok" and r.fps is not None
                and r.batch == self.batch and r.input_size == self.input_size
                and r.precision == self.precision]
        return max(same, key=lambda r: r.fps.median, default=None)  # type: ignore[union-attr]

    def to_dict(self) -> dict[str, Any]:
        c = self.ceiling
        return {
            "model": self.model, "batch": self.batch, "input_size": self.input_size,
            "precision": self.precision, "device": self.device,
            "results": [r.to_dict() for r in self.results],
            "ceiling": None if c is None else {"backend": c.backend, "fps": c.fps.median}
            if c.fps else None,
        }


def result_from_trtexec(run: TrtexecRun, precision_hint: str | None = None) -> BackendResult:
    """A user's trtexec log as one more row (its batch and size say whether it is comparable)."""
    size = run.input_size
    lat = run.latency_ms.get("GPU Compute Time") or run.latency_ms.get("Latency") or {}
    latency = None
    if "median" in lat:
        latency = Spread(0, lat["median"], lat.get("mean", lat["median"]),
                         lat.get("min", lat["median"]), lat.get("max", lat["median"]),
                         lat["median"], lat.get("p90", lat["median"]),
                         lat.get("p99", lat["median"]))
    prec = precision_hint or run.precision_name
    note = f"from {run.path}; {run.batch_source}"
    if run.notes:
        note += "; " + "; ".join(run.notes)
    return BackendResult(
        backend="trtexec-log", status="ok", note=note,
        fps=Spread(1, run.fps, run.fps, run.fps, run.fps, run.fps, run.fps, run.fps),
        latency_ms=latency, batch=run.batch,
        input_size=size[0] if size and size[0] == size[1] else None, precision=prec)


class _Timer:
    """Device time on CUDA (events), host time on the CPU."""

    def __init__(self, device: Any) -> None:
        import torch

        self.cuda = device.type == "cuda"
        self._torch = torch
        self.device = device

    def __call__(self, fn: Any, n: int) -> float:
        """Seconds for n back-to-back calls of fn()."""
        torch = self._torch
        if self.cuda:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            for _ in range(n):
                fn()
            end.record()
            end.synchronize()
            return start.elapsed_time(end) / 1000.0
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        return time.perf_counter() - t0


def _measure(call: Any, batch: int, timer: _Timer, warmup_s: float, repeat_s: float,
             repeats: int, latency_n: int) -> tuple[Spread, Spread]:
    # warm-up: at least 3 calls and warmup_s seconds; it also estimates one call's time
    n_done, t0 = 0, time.perf_counter()
    while n_done < 3 or time.perf_counter() - t0 < warmup_s:
        timer(call, 1)
        n_done += 1
    per_call = max(timer(call, 3) / 3, 1e-6)
    iters = max(3, int(repeat_s / per_call))
    fps = [iters * batch / timer(call, iters) for _ in range(repeats)]
    lat = [timer(call, 1) * 1000.0 for _ in range(latency_n)]
    return spread(fps), spread(lat)


def _dtype(precision: str) -> Any:
    import torch

    return {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]


def bench_model(model_name: str, batch: int, input_size: int | None, precision: str,
                backends: list[str], device_name: str = "cuda", warmup_s: float = 2.0,
                repeat_s: float = 0.5, repeats: int = 7, latency_n: int = 50,
                trtexec_logs: list[TrtexecRun] | None = None,
                log: Any = None) -> BenchReport:
    import torch

    from pipesight.nets.detector import build, memory_format, spec_named

    spec = spec_named(model_name)
    size = input_size or spec.input_size
    device = torch.device(device_name)
    torch.backends.cudnn.benchmark = True
    dtype = _dtype(precision)
    dev_label = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    report = BenchReport(model_name, batch, size, precision, dev_label)
    model = build(spec, device, dtype)
    gen = torch.Generator(device=device).manual_seed(1)
    inputs = [torch.rand(batch, 3, size, size, generator=gen, device=device, dtype=torch.float32)
              .to(dtype).contiguous(memory_format=memory_format(device)) for _ in range(4)]
    timer = _Timer(device)
    for name in backends:
        if log:
            log(f"bench-model: {name} ...")
        try:
            res = _run_backend(name, model, inputs, batch, size, precision, timer, device,
                               warmup_s, repeat_s, repeats, latency_n)
        except Exception as e:  # a backend that breaks is reported, the others still run
            res = BackendResult(name, "failed", f"{type(e).__name__}: {e}"[:300])
        res.batch = res.batch or batch
        res.input_size = res.input_size or size
        res.precision = res.precision or precision
        report.results.append(res)
        if device.type == "cuda":
            torch.cuda.empty_cache()
    for run in trtexec_logs or []:
        report.results.append(result_from_trtexec(run))
    return report


def _run_backend(name: str, model: Any, inputs: list[Any], batch: int, size: int,
                 precision: str, timer: _Timer, device: Any, warmup_s: float, repeat_s: float,
                 repeats: int, latency_n: int) -> BackendResult:
    from pipesight.nets.engine import PT_BACKENDS, Engine

    if name in PT_BACKENDS:
        if name.endswith("cudagraph") and device.type != "cuda":
            return BackendResult(name, "skipped", "CUDA graphs need a CUDA device")
        t0 = time.perf_counter()
        eng = Engine(model, inputs[0], name)
        setup = time.perf_counter() - t0
        k = [0]

        def call() -> None:
            k[0] += 1
            eng.run(inputs[k[0] % len(inputs)])

        fps, lat = _measure(call, batch, timer, warmup_s, repeat_s, repeats, latency_n)
        return BackendResult(name, "ok", "", fps, lat, setup)
    if name == "onnxruntime":
        return _onnxruntime(model, inputs, batch, precision, timer, device, warmup_s, repeat_s,
                            repeats, latency_n)
    if name == "trtexec":
        return _trtexec(model, inputs[0], batch, size, precision, device)
    return BackendResult(name, "skipped", f"unknown backend (known: {', '.join(ALL_BACKENDS)})")


def _export_onnx(model: Any, example: Any, path: Path) -> None:
    import torch

    with torch.inference_mode():
        torch.onnx.export(model, (example,), str(path), input_names=["images"],
                          output_names=["detections"], opset_version=17, dynamo=False)


def _onnxruntime(model: Any, inputs: list[Any], batch: int, precision: str, timer: _Timer,
                 device: Any, warmup_s: float, repeat_s: float, repeats: int,
                 latency_n: int) -> BackendResult:
    try:
        import onnxruntime as ort
    except ImportError:
        return BackendResult("onnxruntime", "skipped", "onnxruntime is not installed")
    if device.type != "cuda":
        return BackendResult("onnxruntime", "skipped", "measured on CUDA only")
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return BackendResult("onnxruntime", "skipped",
                             f"onnxruntime {ort.__version__} has no CUDAExecutionProvider "
                             "(CPU build; install onnxruntime-gpu)")
    import numpy as np
    import torch

    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        _export_onnx(model, inputs[0], path)
        sess = ort.InferenceSession(str(path), providers=[("CUDAExecutionProvider",
                                                           {"device_id": device.index or 0})])
    out = torch.empty_like(model(inputs[0]))
    np_type = {"fp16": np.float16, "bf16": np.float16, "fp32": np.float32}[precision]
    bindings = []
    for x in inputs:
        xc = x.contiguous()
        b = sess.io_binding()
        b.bind_input("images", "cuda", device.index or 0, np_type, list(xc.shape), xc.data_ptr())
        b.bind_output("detections", "cuda", device.index or 0, np.float32, list(out.shape),
                      out.data_ptr())
        bindings.append((b, xc))
    setup = time.perf_counter() - t0
    k = [0]

    def call() -> None:
        k[0] += 1
        sess.run_with_iobinding(bindings[k[0] % len(bindings)][0])

    fps, lat = _measure(call, batch, timer, warmup_s, repeat_s, repeats, latency_n)
    return BackendResult("onnxruntime", "ok", f"onnxruntime {ort.__version__}, CUDA EP",
                         fps, lat, setup)


def _trtexec(model: Any, example: Any, batch: int, size: int, precision: str,
             device: Any) -> BackendResult:
    exe = shutil.which("trtexec")
    if exe is None:
        return BackendResult("trtexec", "skipped",
                             "trtexec (TensorRT) not on PATH; pass a log with --trtexec-log")
    if device.type != "cuda":
        return BackendResult("trtexec", "skipped", "measured on CUDA only")
    flags = {"fp16": ["--fp16"], "bf16": ["--bf16"], "fp32": []}[precision]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.onnx"
        _export_onnx(model, example, path)
        cmd = [exe, f"--onnx={path}", f"--shapes=images:{batch}x3x{size}x{size}",
               "--noDataTransfers", "--useCudaGraph", "--duration=5", *flags]
        t0 = time.perf_counter()
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
        setup = time.perf_counter() - t0
    if r.returncode != 0:
        tail = (r.stdout + r.stderr).strip().splitlines()[-1:] or ["no output"]
        return BackendResult("trtexec", "failed", f"trtexec exit {r.returncode}: {tail[0]}")
    res = result_from_trtexec(parse_text(r.stdout, "trtexec"), precision)
    res.backend, res.setup_s, res.note = "trtexec", setup, " ".join(cmd[1:])
    return res
