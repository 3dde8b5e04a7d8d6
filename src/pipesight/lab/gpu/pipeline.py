"""A DeepStream-shaped GPU pipeline in Python: the workload behind pipesight's GPU checks.

Stages are threads joined by bounded queues, named (thread names and NVTX ranges) after the
DeepStream plugins that do the same job:

    nvv4l2decoder x N -> nvstreammux -> nvinfer -> nvdspostprocess -> nvmultistreamtiler
        -> nvdsosd -> fakesink

* **naive**, as first drafts are: after nvinfer, ONE Python thread does, in series for each
  batch, a device-to-host copy of the detections and per-frame NMS in Python, a device-to-host
  copy of every frame and tiling on the CPU, then draws the boxes one by one on the CPU. While
  it works, nvinfer waits on a full queue and the GPU idles.
* **tuned**: NMS, tiling and drawing are batched tensor operations on the GPU, each stage on
  its own thread and CUDA stream, so post-processing of batch k overlaps inference of k+1.

Both produce the same tiled pictures, byte for byte (tests compare them).
Each stage records an event after its GPU work; the next stage's stream waits on it, and the
tensors it reads are marked as used on that stream (``record_stream``) so the caching
allocator never hands their memory out while a kernel may still read it.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from pipesight.lab.gpu.compose import TileLayout, draw_numpy, draw_torch, tile_numpy, tile_torch
from pipesight.lab.gpu.detector import DetectorSpec, build, memory_format, spec_named
from pipesight.lab.gpu.nvtx import Ranges, set_thread_name
from pipesight.lab.gpu.postprocess import NmsParams, nms_batch_torch, nms_frame_numpy
from pipesight.lab.gpu.sources import geometry, nv12_to_rgb

MODES = ("naive", "tuned")
_EOS = object()
_POLL = 0.05


@dataclass
class LabConfig:
    mode: str = "tuned"
    streams: int = 8
    batch: int | None = None  # default: one frame per stream
    duration: float = 10.0
    warmup: float = 3.0
    model: str = "yolo-x"
    backend: str = "cudagraph"
    precision: str = "fp16"
    source: str = "nvdec"
    device: str = "cuda"
    frame_width: int | None = None  # gst / synthetic sources only
    frame_height: int | None = None
    out_width: int = 1280
    out_height: int = 720
    queue_size: int = 2
    max_batches: int | None = None  # stop once this many batches reached the sink (tests)
    collect: bool = False  # keep every tiled picture (tests)
    nvtx: bool = True
    profiler_window: bool = False  # cudaProfilerStart/Stop around the measured window
    fuse_prep: bool = True  # compile colour conversion and scaling on CUDA (tests may skip it)
    graph_post: bool = True  # tuned: NMS, tiling and drawing as CUDA graphs on CUDA


    @property
    def batch_size(self) -> int:
        return self.batch or self.streams


@dataclass
class LabResult:
    mode: str
    streams: int
    batch: int
    backend: str
    source: str
    device: str
    fps: float | None
    window_s: float
    frames: int
    pictures: int
    boxes_per_frame: dict[str, float]
    outputs: list[np.ndarray] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "outputs"}


@dataclass
class _Item:
    index: int
    frames: Any
    ready: Any = None  # CUDA event: the last stage's GPU work on this item is done
    dets: Any = None
    boxes: Any = None
    labels: Any = None
    counts: Any = None
    canvas: Any = None
    host_boxes: list[np.ndarray] | None = None
    n_boxes: list[int] = field(default_factory=list)


class _Dev:
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


class LabPipeline:
    def __init__(self, cfg: LabConfig) -> None:
        import torch

        from pipesight.errors import UserError
        from pipesight.gpu.engine import Engine

        if cfg.mode not in MODES:
            raise UserError(f"--mode must be one of {', '.join(MODES)}")
        if cfg.streams < 1 or cfg.batch_size < 1 or cfg.batch_size % cfg.streams:
            raise UserError("--streams must be >= 1 and --batch a multiple of --streams")
        self.cfg = cfg
        self.device = torch.device(cfg.device)
        if self.device.type == "cuda":
            if not torch.cuda.is_available():
                raise UserError("no CUDA device here; use --device cpu --source gst for a CPU "
                                "run")
            if self.device.index is None:
                self.device = torch.device("cuda", torch.cuda.current_device())
        self.dev = _Dev(self.device)
        self.spec: DetectorSpec = spec_named(cfg.model)
        self.nms = NmsParams.of(self.spec)
        self.layout = TileLayout(cfg.streams, cfg.out_width, cfg.out_height)
        self.ranges = Ranges(cfg.nvtx and self.device.type == "cuda")
        torch.backends.cudnn.benchmark = True
        dtype = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}[
            cfg.precision]
        self._dtype = dtype
        model = build(self.spec, self.device, dtype)
        size = self.spec.input_size
        layout = memory_format(self.device)

        def prep(frames: torch.Tensor) -> torch.Tensor:  # nvinfer's scaling and normalising
            x = frames.permute(0, 3, 1, 2).to(dtype)
            x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear",
                                                align_corners=False)
            return (x * (1.0 / 255.0)).contiguous(memory_format=layout)

        # the sources start last: a threaded decoder starts decoding as soon as it exists, and
        # nothing should run beside the graph captures below
        w, h, pixel_format = geometry(cfg.source, cfg.frame_width, cfg.frame_height)
        self._nv12 = pixel_format == "nv12"

        def to_rgb(nv12: torch.Tensor) -> torch.Tensor:
            return nv12_to_rgb(nv12, h, w)

        self._to_rgb = to_rgb
        if self.dev.cuda and cfg.fuse_prep:
            # pre-processing as nvinfer and nvvideoconvert do it, one fused kernel each: on an
            # H100 it shares the SMs with inference, so it must cost next to nothing
            self._to_rgb = torch.compile(to_rgb, dynamic=False)
            prep = torch.compile(prep, dynamic=False)
        gen = torch.Generator(device=self.device).manual_seed(2)
        example = torch.randint(0, 256, (cfg.batch_size, h, w, 3), generator=gen,
                                device=self.device, dtype=torch.uint8)
        with torch.inference_mode():
            if self._nv12:  # compile it here, not in the batching thread mid-run
                self._to_rgb(torch.randint(0, 256, (cfg.batch_size, h * 3 // 2, w),
                                           generator=gen, device=self.device,
                                           dtype=torch.uint8))
        self.engine = Engine(model, example, cfg.backend, prep=prep)
        self._graphed: dict[str, Any] = {}
        self.notes: list[str] = []
        if cfg.mode == "tuned" and self.dev.cuda and cfg.graph_post:
            self._capture_post(example)
        self._sources = [self._make_source(i) for i in range(cfg.streams)]
        self._stop = threading.Event()
        self._sink_log: list[tuple[float, int]] = []
        self._boxes: list[int] = []
        self._outputs: list[np.ndarray] = []
        self._errors: list[BaseException] = []

    NMS_PASSES = 24  # sync-free NMS passes in the graph; a batch needing more is redone eagerly

    def _capture_post(self, example: Any) -> None:
        """Tuned post-processing as CUDA graphs: NMS, tiling and drawing each become one launch
        (dozens of small kernels each otherwise, launched from Python threads that share one
        interpreter lock). A capture that fails leaves that stage eager, with a note."""
        from pipesight.gpu.engine import Graphed

        torch = self.dev.torch
        with torch.inference_mode():
            dets = self.engine.run(example).clone()
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

    def _make_source(self, i: int) -> Any:
        from pipesight.lab.gpu.sources import make_source

        stream = self.dev.stream()
        return make_source(self.cfg.source, i, self.device, stream, self.cfg.frame_width,
                           self.cfg.frame_height)

    # --- plumbing -------------------------------------------------------------------------
    def _get(self, q: queue.Queue) -> Any:
        while not self._stop.is_set():
            try:
                return q.get(timeout=_POLL)
            except queue.Empty:
                continue
        return _EOS

    def _put(self, q: queue.Queue, x: Any) -> bool:
        while not self._stop.is_set():
            try:
                q.put(x, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False

    def _thread(self, name: str, body: Any, *args: Any) -> threading.Thread:
        def run() -> None:
            import torch

            set_thread_name(name)
            try:
                if self.dev.cuda:
                    torch.cuda.set_device(self.device)
                with torch.inference_mode():
                    body(*args)
            except BaseException as e:  # reported by run(); the pipeline stops
                self._errors.append(e)
                self._stop.set()

        return threading.Thread(target=run, name=name, daemon=True)

    def _stage(self, name: str | None, fn: Any, inq: queue.Queue, outq: queue.Queue | None,
               sync_first: bool = False) -> None:
        """A stage: take an item, (optionally wait until its GPU work is done), do fn under
        the stage's NVTX range on the stage's own CUDA stream, hand it on."""
        stream = self.dev.stream()
        with self.dev.on(stream):
            while True:
                item = self._get(inq)
                if item is _EOS:
                    if outq is not None:
                        self._put(outq, _EOS)
                    return
                if sync_first:
                    self.dev.sync(item.ready)
                if name is None:  # the stage names its own steps
                    fn(item)
                else:
                    with self.ranges.range(name):
                        fn(item)
                if outq is not None and not self._put(outq, item):
                    return

    # --- stages ---------------------------------------------------------------------------
    def _decoder(self, i: int, outq: queue.Queue) -> None:
        src = self._sources[i]
        stream = getattr(src, "stream", None) or self.dev.stream()
        with self.dev.on(stream):
            it = src.frames()
            while not self._stop.is_set():
                with self.ranges.range("nvv4l2decoder"):
                    frame = next(it)
                    frame = frame.to(self.device, non_blocking=False)
                    ev = self.dev.record()
                if not self._put(outq, (frame, ev)):
                    break
        self._put(outq, _EOS)

    def _mux(self, inqs: list[queue.Queue], outq: queue.Queue) -> None:
        import torch

        stream = self.dev.stream()
        n, b = self.cfg.streams, self.cfg.batch_size
        index = 0
        with self.dev.on(stream):
            while True:
                got = []
                for j in range(b):
                    x = self._get(inqs[j % n])
                    if x is _EOS:
                        self._put(outq, _EOS)
                        return
                    got.append(x)
                with self.ranges.range("nvstreammux"):
                    for frame, ev in got:
                        self.dev.wait(ev, frame)
                    batch = torch.stack([f for f, _ in got])
                    if self._nv12:
                        batch = self._to_rgb(batch)
                    item = _Item(index, batch)
                    item.ready = self.dev.record()
                index += 1
                if not self._put(outq, item):
                    return

    def _infer(self, item: _Item) -> None:
        self.dev.wait(item.ready, item.frames)
        item.dets = self.engine.run(item.frames).clone()
        item.ready = self.dev.record()

    # tuned: every step a batched GPU operation on its own thread
    def _nms_gpu(self, item: _Item) -> None:
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

    def _tile_gpu(self, item: _Item) -> None:
        self.dev.wait(item.ready, item.frames)
        g = self._graphed.get("tile")
        item.canvas = g.run(item.frames) if g else tile_torch(item.frames, self.layout)
        item.ready = self.dev.record()

    def _osd_gpu(self, item: _Item) -> None:
        self.dev.wait(item.ready, item.canvas, item.boxes, item.counts)
        g = self._graphed.get("osd")
        if g is not None:
            item.canvas = g.run(item.canvas, item.boxes, item.counts)
        else:
            item.canvas = draw_torch(item.canvas, item.boxes, item.counts,
                                     self.spec.input_size, self.layout)
        item.ready = self.dev.record()

    def _sink(self, item: _Item) -> None:
        self.dev.sync(item.ready)
        if self.cfg.collect:
            pics = item.canvas
            self._outputs.extend(p.cpu().numpy() if hasattr(p, "cpu") else p for p in pics)
        self._count(item)

    # naive: one Python thread does all of it, in series, on the host
    def _post_naive(self, item: _Item) -> None:
        n = self.cfg.streams
        self.dev.wait(item.ready, item.dets, item.frames)
        with self.ranges.range("nvdspostprocess"):
            dets = item.dets.cpu().numpy()
            item.host_boxes = []
            for d in dets:
                boxes, _labels = nms_frame_numpy(d, self.nms)
                item.host_boxes.append(boxes)
                item.n_boxes.append(len(boxes))
        with self.ranges.range("nvmultistreamtiler"):
            frames = [f.cpu().numpy() for f in item.frames]
            pictures = [tile_numpy(frames[g:g + n], self.layout)
                        for g in range(0, len(frames), n)]
        with self.ranges.range("nvdsosd"):
            for k, pic in enumerate(pictures):
                draw_numpy(pic, item.host_boxes[k * n:(k + 1) * n], self.spec.input_size,
                           self.layout)
        with self.ranges.range("fakesink"):
            if self.cfg.collect:
                self._outputs.extend(pictures)
            self._count(item)

    def _count(self, item: _Item) -> None:
        self._boxes.extend(item.n_boxes)
        done = (self._sink_log[-1][1] if self._sink_log else 0) + len(item.frames)
        self._sink_log.append((time.perf_counter(), done))
        mb = self.cfg.max_batches
        if mb is not None and len(self._sink_log) >= mb:
            self._stop.set()

    # --- run ------------------------------------------------------------------------------
    def run(self) -> LabResult:
        cfg = self.cfg
        qn = cfg.queue_size
        dec_qs: list[queue.Queue] = [queue.Queue(maxsize=4) for _ in range(cfg.streams)]
        q_mux: queue.Queue = queue.Queue(maxsize=qn)
        q_inf: queue.Queue = queue.Queue(maxsize=qn)
        threads = [self._thread(f"nvv4l2decoder{i}", self._decoder, i, dec_qs[i])
                   for i in range(cfg.streams)]
        threads.append(self._thread("nvstreammux", self._mux, dec_qs, q_mux))
        threads.append(self._thread("nvinfer", self._stage, "nvinfer", self._infer, q_mux,
                                    q_inf))
        if cfg.mode == "naive":
            threads.append(self._thread("postprocess", self._stage, None, self._post_naive,
                                        q_inf, None))
        else:
            q_nms: queue.Queue = queue.Queue(maxsize=qn)
            q_tile: queue.Queue = queue.Queue(maxsize=qn)
            q_osd: queue.Queue = queue.Queue(maxsize=qn)
            threads += [
                self._thread("nvdspostprocess", self._stage, "nvdspostprocess", self._nms_gpu,
                             q_inf, q_nms, True),
                self._thread("nvmultistreamti", self._stage, "nvmultistreamtiler",
                             self._tile_gpu, q_nms, q_tile),
                self._thread("nvdsosd", self._stage, "nvdsosd", self._osd_gpu, q_tile, q_osd),
                self._thread("fakesink", self._stage, "fakesink", self._sink, q_osd, None),
            ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        deadline = None if cfg.max_batches is not None else t0 + cfg.warmup + cfg.duration
        window = cfg.profiler_window and self.dev.cuda and deadline is not None
        profiling = False
        while not self._stop.is_set():
            now = time.perf_counter()
            if deadline is not None and now >= deadline:
                break
            if window and not profiling and now >= t0 + cfg.warmup:
                self.dev.torch.cuda.cudart().cudaProfilerStart()
                profiling = True
            time.sleep(_POLL / 5 if window else _POLL)
        if profiling:
            self.dev.torch.cuda.cudart().cudaProfilerStop()
        self._stop.set()
        for t in threads:
            t.join(timeout=30)
        if self.dev.cuda:
            self.dev.torch.cuda.synchronize(self.device)
        if self._errors:
            raise self._errors[0]
        return self._result(t0)

    def _result(self, t0: float) -> LabResult:
        cfg = self.cfg
        log = self._sink_log
        fps, window, frames = None, 0.0, log[-1][1] if log else 0
        if cfg.max_batches is None:
            after = [x for x in log if x[0] >= t0 + cfg.warmup]
            if len(after) >= 2:
                (ta, na), (tb, nb) = after[0], after[-1]
                window = tb - ta
                fps = (nb - na) / window if window > 0 else None
        nb = np.asarray(self._boxes, dtype=np.float64)
        boxes = ({"mean": float(nb.mean()), "min": float(nb.min()), "max": float(nb.max())}
                 if nb.size else {})
        notes = list(self.notes)
        if cfg.source == "synthetic":
            notes.append("frames were made on the device: no video was decoded")
        return LabResult(cfg.mode, cfg.streams, cfg.batch_size, cfg.backend,
                         self._sources[0].label, str(self.device), fps, window, frames,
                         frames // cfg.streams, boxes, self._outputs, notes)


def run_lab(cfg: LabConfig) -> LabResult:
    return LabPipeline(cfg).run()
