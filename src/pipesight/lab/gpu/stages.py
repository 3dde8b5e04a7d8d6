"""The lab pipeline's work per batch, whatever carries the batches between stages.

Both engines call these: the Python-thread pipeline (``pipeline.py``: stages are threads joined
by queues) and the GStreamer one (``gst_elements.py``: stages are elements and a pad probe).
So the two run the same detector, the same pre-processing and the same naive and tuned
post-processing, and draw the same pictures.

``Stages`` owns the device, the detector made ready to run (``Engine``), colour conversion and
pre-processing (compiled into one kernel each on CUDA) and, in tuned mode on CUDA, NMS, tiling and
drawing captured as CUDA graphs. Each step takes a ``Batch`` and records a CUDA event after its
GPU work; the next step's stream waits on it and marks the tensors it reads as used there
(``record_stream``), so the caching allocator never hands their memory out while a kernel may
still read it.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipesight.lab.gpu.compose import TileLayout, draw_numpy, draw_torch, tile_numpy, tile_torch
from pipesight.lab.gpu.nvtx import Ranges
from pipesight.lab.gpu.postprocess import NmsParams, nms_batch_torch, nms_frame_numpy
from pipesight.lab.gpu.sources import yuv420_to_rgb
from pipesight.nets.detector import DetectorSpec, build, memory_format, spec_named

MODES = ("naive", "tuned")
DTYPES = ("fp16", "bf16", "fp32")


@dataclass
class Batch:
    """One batch on its way through the pipeline: B frames, G = B / N pictures."""

    index: int
    frames: Any  # [B, H, W, 3] uint8 RGB on the device
    net_input: Any = None  # [B, 3, S, S] when pre-processing ran before inference
    ready: Any = None  # CUDA event: the last step's GPU work on this batch is done
    dets: Any = None
    boxes: Any = None
    labels: Any = None
    counts: Any = None
    canvas: Any = None  # tuned: [G, out_h, out_w, 3] on the device
    pictures: list[np.ndarray] | None = None  # naive: the G pictures, on the host
    n_boxes: list[int] = field(default_factory=list)

    @property
    def size(self) -> int:
        return len(self.frames)


class Device:
    """CUDA streams and events, or nothing on the CPU."""

    def __init__(self, device: Any) -> None:
        import torch

        self.torch = torch
        self.device = device
        self.cuda = device.type == "cuda"

    def stream(self) -> Any:
        return self.torch.cuda.Stream(device=self.device) if self.cuda else None

    def on(self, stream: Any) -> Any:
        return self.torch.cuda.stream(stream) if self.cuda else contextlib.nullcontext()

    @contextlib.contextmanager
    def work(self, stream: Any) -> Any:
        """What a thread that PyTorch did not start needs around GPU work: the device, a stream
        of its own (not the legacy default stream, which waits for every other), inference
        mode."""
        torch = self.torch
        with contextlib.ExitStack() as stack:
            if self.cuda:
                stack.enter_context(torch.cuda.device(self.device))
                stack.enter_context(torch.cuda.stream(stream))
            stack.enter_context(torch.inference_mode())
            yield

    def record(self) -> Any:
        if not self.cuda:
            return None
        ev = self.torch.cuda.Event()
        ev.record()
        return ev

    def wait(self, ev: Any, *tensors: Any) -> None:
        """Current stream waits for ev; the tensors are marked as read on it."""
        if not self.cuda:
            return
        cur = self.torch.cuda.current_stream(self.device)
        if ev is not None:
            cur.wait_event(ev)
        for t in tensors:
            if t is not None:
                t.record_stream(cur)

    def sync(self, ev: Any) -> None:
        if ev is not None:
            ev.synchronize()


def resolve_device(name: str, cpu_flags: str = "--device cpu") -> Any:
    import torch

    from pipesight.errors import UserError

    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise UserError(f"no CUDA device here; use {cpu_flags} for a CPU run")
        if device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
    return device


class Stages:
    """The detector, pre-processing and post-processing of one lab configuration.

    ``frame_size`` is (width, height) of decoded frames; ``pixel_format`` what the batching step
    receives: "rgb" [H, W, 3], "nv12" or "i420" (the decoder's planes, one row per frame of
    ``H * W * 3 / 2`` bytes, or [H * 3 / 2, W] for NV12). With ``prep_in_engine`` the scaling and
    normalising run inside the inference step (captured into its CUDA graph, as nvinfer does);
    without, ``prepare`` runs them where the caller batches and ``Engine`` holds the model alone,
    exactly what bench-model times."""

    NMS_PASSES = 24  # sync-free NMS passes in the graph; a batch needing more is redone eagerly

    def __init__(self, *, mode: str, streams: int, batch: int, model: str, backend: str,
                 precision: str, device: Any, frame_size: tuple[int, int], pixel_format: str,
                 out_size: tuple[int, int], prep_in_engine: bool, nvtx: bool,
                 fuse_prep: bool = True, graph_post: bool = True) -> None:
        import torch

        from pipesight.nets.engine import Engine

        self.mode, self.streams, self.batch = mode, streams, batch
        self.device = device
        self.dev = Device(device)
        self.spec: DetectorSpec = spec_named(model)
        self.nms = NmsParams.of(self.spec)
        self.layout = TileLayout(streams, *out_size)
        self.ranges = Ranges(nvtx and self.dev.cuda)
        self.backend, self.precision = backend, precision
        self.width, self.height = frame_size
        self.pixel_format = pixel_format
        self.notes: list[str] = []
        torch.backends.cudnn.benchmark = True
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[precision]
        net = build(self.spec, device, dtype)
        size = self.spec.input_size
        channels = memory_format(device)

        def prep(frames: torch.Tensor) -> torch.Tensor:  # nvinfer's scaling and normalising
            x = frames.permute(0, 3, 1, 2).to(dtype)
            x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear",
                                                align_corners=False)
            return (x * (1.0 / 255.0)).contiguous(memory_format=channels)

        w, h = frame_size

        def to_rgb(raw: torch.Tensor) -> torch.Tensor:
            return yuv420_to_rgb(raw, h, w, pixel_format)

        self._to_rgb, self._prep = to_rgb, prep
        if self.dev.cuda and fuse_prep:
            # pre-processing as nvinfer and nvvideoconvert do it, one fused kernel each: on an
            # H100 it shares the SMs with inference, so it must cost next to nothing
            self._to_rgb = torch.compile(to_rgb, dynamic=False)
            self._prep = torch.compile(prep, dynamic=False)
        gen = torch.Generator(device=device).manual_seed(2)
        example = torch.randint(0, 256, (batch, h, w, 3), generator=gen, device=device,
                                dtype=torch.uint8)
        with torch.inference_mode():
            if pixel_format != "rgb":  # compile it here, not in the batching thread mid-run
                self._to_rgb(torch.randint(0, 256, (batch, h * 3 // 2, w), generator=gen,
                                           device=device, dtype=torch.uint8))
            if prep_in_engine:
                self.engine = Engine(net, example, backend, prep=prep)
            else:
                self.engine = Engine(net, self._prep(example), backend)
        self._prep_in_engine = prep_in_engine
        self._graphed: dict[str, Any] = {}
        if mode == "tuned" and self.dev.cuda and graph_post:
            self._capture_post(example)

    # --- batching -------------------------------------------------------------------------
    def to_rgb(self, raw: Any) -> Any:
        """[B, ...] decoded frames in the pixel format -> [B, H, W, 3] uint8 RGB."""
        return raw if self.pixel_format == "rgb" else self._to_rgb(raw)

    def prepare(self, frames: Any) -> Any:
        """[B, H, W, 3] uint8 -> the network's input (scaled, normalised, its layout)."""
        return self._prep(frames)

    # --- inference ------------------------------------------------------------------------
    def infer(self, item: Batch) -> None:
        x = item.frames if self._prep_in_engine else item.net_input
        self.dev.wait(item.ready, x)
        item.dets = self.engine.run(x).clone()
        item.net_input = None  # its memory goes back to the allocator on this stream
        item.ready = self.dev.record()

    # --- tuned: every step a batched GPU operation ----------------------------------------
    def _capture_post(self, example: Any) -> None:
        """Tuned post-processing as CUDA graphs: NMS, tiling and drawing each become one launch
        (dozens of small kernels each otherwise, launched from Python threads that share one
        interpreter lock). A capture that fails leaves that stage eager, with a note."""
        from pipesight.nets.engine import Graphed

        torch = self.dev.torch
        with torch.inference_mode():
            x = example if self._prep_in_engine else self._prep(example)
            dets = self.engine.run(x).clone()
            try:
                self._graphed["nms"] = Graphed(
                    lambda d: nms_batch_torch(d, self.nms, passes=self.NMS_PASSES), dets)
                boxes, _labels, counts, _ok = self._graphed["nms"].run(dets)
            except Exception as e:  # the stage stays correct, only slower
                self.notes.append(f"NMS not captured in a CUDA graph: {type(e).__name__}: {e}")
                boxes, _labels, counts, _ok = nms_batch_torch(dets, self.nms)
            try:
                self._graphed["tile"] = Graphed(lambda f: tile_torch(f, self.layout), example)
                canvas = self._graphed["tile"].run(example)
            except Exception as e:
                self.notes.append(f"tiler not captured in a CUDA graph: {type(e).__name__}: {e}")
                canvas = tile_torch(example, self.layout)
            try:
                self._graphed["osd"] = Graphed(
                    lambda c, bx, n: draw_torch(c, bx, n, self.spec.input_size, self.layout),
                    canvas, boxes, counts)
            except Exception as e:
                self.notes.append(f"osd not captured in a CUDA graph: {type(e).__name__}: {e}")

    def nms_gpu(self, item: Batch) -> None:
        self.dev.wait(item.ready, item.dets)
        g = self._graphed.get("nms")
        settled = False
        if g is not None:
            item.boxes, item.labels, item.counts, ok = g.run(item.dets)
            settled = bool(ok)  # the one host sync of this stage
        if not settled:
            item.boxes, item.labels, item.counts, _ = nms_batch_torch(item.dets, self.nms)
        item.n_boxes = item.counts.tolist()
        item.ready = self.dev.record()

    def tile_gpu(self, item: Batch) -> None:
        self.dev.wait(item.ready, item.frames)
        g = self._graphed.get("tile")
        item.canvas = g.run(item.frames) if g else tile_torch(item.frames, self.layout)
        item.ready = self.dev.record()

    def osd_gpu(self, item: Batch) -> None:
        self.dev.wait(item.ready, item.canvas, item.boxes, item.counts)
        g = self._graphed.get("osd")
        if g is not None:
            item.canvas = g.run(item.canvas, item.boxes, item.counts)
        else:
            item.canvas = draw_torch(item.canvas, item.boxes, item.counts,
                                     self.spec.input_size, self.layout)
        item.ready = self.dev.record()

    # --- naive: one Python thread does all of it, in series, on the host -----------------
    def post_naive(self, item: Batch) -> None:
        n = self.streams
        self.dev.wait(item.ready, item.dets, item.frames)
        with self.ranges.range("nvdspostprocess"):
            dets = item.dets.cpu().numpy()
            host_boxes = []
            for d in dets:
                boxes, _labels = nms_frame_numpy(d, self.nms)
                host_boxes.append(boxes)
                item.n_boxes.append(len(boxes))
        with self.ranges.range("nvmultistreamtiler"):
            frames = [f.cpu().numpy() for f in item.frames]
            pictures = [tile_numpy(frames[g:g + n], self.layout)
                        for g in range(0, len(frames), n)]
        with self.ranges.range("nvdsosd"):
            for k, pic in enumerate(pictures):
                draw_numpy(pic, host_boxes[k * n:(k + 1) * n], self.spec.input_size,
                           self.layout)
        item.pictures = pictures

    # --- the end --------------------------------------------------------------------------
    def finish(self, item: Batch, collect: bool) -> list[np.ndarray]:
        """Waits until the batch's GPU work is done; its pictures on the host if collect."""
        self.dev.sync(item.ready)
        if not collect:
            return []
        if item.pictures is not None:
            return list(item.pictures)
        return [p.cpu().numpy() for p in item.canvas]
