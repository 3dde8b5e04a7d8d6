"""Reads the performance summary of a TensorRT ``trtexec`` log.

trtexec prints ``Throughput: X qps`` where a query is one inference of the engine (see
TensorRT's samples/common/sampleReporting.cpp, ``printEpilog``): with an explicit-batch engine
(every TensorRT 10 engine, and ONNX models since TensorRT 7) one query is a whole batch, so
frames per second = qps x the batch dimension of the input shape. Old implicit-batch runs
(``--batch=N``, reported as ``Batch: N`` in the inference options) already multiply by the batch
size, so there fps = qps.

The latency lines (``Latency``, ``GPU Compute Time``, ``Enqueue Time``, ...) are read as they
are printed: ``min = a ms, max = b ms, mean = c ms, median = d ms, percentile(P%) = e ms``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipesight.errors import UserError

_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)*")  # "[06/17/2025-18:44:33] [I] " and the like
# a decimal number as trtexec prints it; a damaged one ("E3309.59", "1.2.3") does not match
_NUM = r"([+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
_THROUGHPUT = re.compile(rf"^Throughput:\s*{_NUM}\s*qps")
_METRIC = re.compile(r"^(Latency|End-to-End Host Latency|Enqueue Time|H2D Latency|"
                     r"GPU Compute Time|D2H Latency):\s*(.*)$")
_STAT = re.compile(rf"(min|max|mean|median|percentile\({_NUM}%\))\s*=\s*{_NUM}\s*ms")
_SHAPE_LINE = re.compile(r"^Input inference shapes?\s*:\s*(.*)$")
_SHAPES_FLAG = re.compile(r"--(?:shapes|optShapes)=(\S+)")
_BATCH_OPT = re.compile(r"^Batch:\s*(\S+)")
_BATCH_FLAG = re.compile(r"--batch=(\d+)")
_PRECISION = re.compile(r"^Precision:\s*(.+)$")
_VERSION = re.compile(r"TensorRT\.trtexec \[TensorRT v(\d+)\]|^TensorRT version:\s*(\S+)")
_WALLTIME = re.compile(rf"^Total Host Walltime:\s*{_NUM}\s*s")
_DEVICE = re.compile(r"^Selected Device:\s*(.+)$")


@dataclass
class TrtexecRun:
    path: str
    throughput_qps: float
    batch: int
    implicit_batch: bool
    batch_source: str
    input_shapes: dict[str, list[int]] = field(default_factory=dict)
    latency_ms: dict[str, dict[str, float]] = field(default_factory=dict)
    precision: str | None = None
    tensorrt_version: str | None = None
    device: str | None = None
    walltime_s: float | None = None
    notes: list[str] = field(default_factory=list)
    data_transfers: bool = True  # False: --noDataTransfers (host-device copies not timed)

    @property
    def fps(self) -> float:
        return self.throughput_qps if self.implicit_batch else self.throughput_qps * self.batch

    @property
    def precision_name(self) -> str | None:
        """fp16, bf16, int8 or fp32: the lowest precision the build allowed."""
        if not self.precision:
            return None
        up = self.precision.upper()
        for name in ("INT8", "FP16", "BF16"):
            if name in up:
                return name.lower()
        return "fp32"

    @property
    def input_size(self) -> tuple[int, int] | None:
        """(height, width) of the first 4-D input, if the log names the shapes."""
        for dims in self.input_shapes.values():
            if len(dims) == 4:
                return dims[2], dims[3]
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "throughput_qps": self.throughput_qps, "fps": self.fps,
            "batch": self.batch, "implicit_batch": self.implicit_batch,
            "batch_source": self.batch_source, "input_shapes": self.input_shapes,
            "latency_ms": self.latency_ms, "precision": self.precision,
            "tensorrt_version": self.tensorrt_version, "device": self.device,
            "walltime_s": self.walltime_s, "notes": self.notes,
        }


def _parse_shapes(text: str) -> dict[str, list[int]]:
    """'images=8x3x640x640, other=1x4' or 'images:8x3x640x640,other:1x4' -> {name: dims}."""
    shapes: dict[str, list[int]] = {}
    for part in re.split(r",\s*", text.strip()):
        m = re.match(r"^'?([^=:']+)'?\s*[=:]\s*([0-9x]+)$", part.strip())
        if m:
            try:
                shapes[m.group(1)] = [int(d) for d in m.group(2).split("x") if d]
            except ValueError:
                continue
    return shapes


def parse_text(text: str, path: str = "<text>") -> TrtexecRun:
    qps: float | None = None
    latency: dict[str, dict[str, float]] = {}
    shapes: dict[str, list[int]] = {}
    flag_shapes: dict[str, list[int]] = {}
    batch_opt: str | None = None
    batch_flag: int | None = None
    precision = version = device = None
    walltime = None
    transfers = True
    for raw in text.splitlines():
        line = _PREFIX.sub("", raw.rstrip()).strip()
        if (m := _THROUGHPUT.match(line)) is not None:
            qps = float(m.group(1))  # the last summary wins if a log holds several runs
        elif (m := _METRIC.match(line)) is not None:
            stats: dict[str, float] = {}
            for s in _STAT.finditer(m.group(2)):
                key = f"p{float(s.group(2)):g}" if s.group(2) else s.group(1)
                stats[key] = float(s.group(3))
            latency[m.group(1)] = stats
        elif (m := _SHAPE_LINE.match(line)) is not None:
            shapes = _parse_shapes(m.group(1)) or shapes
        elif (m := _BATCH_OPT.match(line)) is not None:
            batch_opt = m.group(1)
        elif (m := _PRECISION.match(line)) is not None:
            precision = m.group(1).strip()
        elif (m := _WALLTIME.match(line)) is not None:
            walltime = float(m.group(1))
        elif (m := _DEVICE.match(line)) is not None:
            device = m.group(1).strip()
        elif line.startswith("Data transfers:"):
            transfers = "disabled" not in line.lower()
        if (m := _VERSION.search(line)) is not None and version is None:
            version = m.group(2) or _trt_version(m.group(1))
        if "trtexec" in line and "--" in line:
            if (m := _SHAPES_FLAG.search(line)) is not None:
                flag_shapes = _parse_shapes(m.group(1)) or flag_shapes
            if (m := _BATCH_FLAG.search(line)) is not None:
                batch_flag = int(m.group(1))
            if "--noDataTransfers" in line:
                transfers = False
    if qps is None:
        raise UserError(f"{path}: no 'Throughput: ... qps' line: not a trtexec performance log "
                        "(or the run did not reach its summary)")
    run = TrtexecRun(path=path, throughput_qps=qps, batch=1, implicit_batch=False,
                     batch_source="default (no shape in the log)",
                     input_shapes=shapes or flag_shapes, latency_ms=latency,
                     precision=precision, tensorrt_version=version, device=device,
                     walltime_s=walltime, data_transfers=transfers)
    implicit = batch_opt is not None and batch_opt.isdigit()
    if implicit or (batch_flag is not None and batch_opt is None):
        run.implicit_batch = True
        run.batch = int(batch_opt) if implicit else int(batch_flag or 1)
        run.batch_source = "implicit batch (--batch): qps already counts frames"
    elif run.input_shapes:
        name, dims = next(iter(run.input_shapes.items()))
        run.batch = dims[0] if dims else 1
        run.batch_source = (f"first dimension of input '{name}' "
                            f"({'inference shape' if shapes else 'command line'})")
    else:
        run.notes.append("the log names no input shape: batch taken as 1, fps = qps")
    return run


def _trt_version(code: str) -> str:
    """trtexec's banner prints NV_TENSORRT_VERSION: major*10000 + minor*100 + patch since
    TensorRT 10 ('100900' -> '10.9.0'), major*1000 + minor*100 + patch before it
    ('8205' -> '8.2.5')."""
    if len(code) >= 6:
        return f"{int(code[:-4])}.{int(code[-4:-2])}.{int(code[-2:])}"
    if len(code) == 4:
        return f"{code[0]}.{code[1]}.{int(code[2:])}"
    return code


def read(path: str | Path) -> TrtexecRun:
    p = Path(path)
    try:
        text = p.read_text(errors="replace")
    except OSError as e:
        raise UserError(f"cannot read trtexec log {p}: {e.strerror or e}") from None
    return parse_text(text, str(p))
