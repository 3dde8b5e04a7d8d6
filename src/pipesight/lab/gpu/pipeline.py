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

Both produce the same tiled pictures, byte for byte (tests compare them). What each stage does
to a batch is in ``stages.py``, shared with the GStreamer engine (``gst_pipeline.py``); this
module is the threads and queues that carry batches between the stages.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

import numpy as np

from pipesight.lab.gpu.config import LabConfig, LabResult, box_stats, measured_fps
from pipesight.lab.gpu.nvtx import set_thread_name
from pipesight.lab.gpu.sources import geometry
from pipesight.lab.gpu.stages import MODES, Batch, Stages, resolve_device

__all__ = ["LabConfig", "LabPipeline", "LabResult", "run_lab"]

_EOS = object()
_POLL = 0.05


class LabPipeline:
    def __init__(self, cfg: LabConfig) -> None:
        from pipesight.errors import UserError

        if cfg.mode not in MODES:
            raise UserError(f"--mode must be one of {', '.join(MODES)}")
        if cfg.streams < 1 or cfg.batch_size < 1 or cfg.batch_size % cfg.streams:
            raise UserError("--streams must be >= 1 and --batch a multiple of --streams")
        self.cfg = cfg
        self.device = resolve_device(cfg.device, "--device cpu --source gst")
        # the sources start last: a threaded decoder starts decoding as soon as it exists, and
        # nothing should run beside the graph captures that Stages makes
        w, h, pixel_format = geometry(cfg.source, cfg.frame_width, cfg.frame_height)
        self.stages = Stages(mode=cfg.mode, streams=cfg.streams, batch=cfg.batch_size,
                             model=cfg.model, backend=cfg.backend, precision=cfg.precision,
                             device=self.device, frame_size=(w, h), pixel_format=pixel_format,
                             out_size=(cfg.out_width, cfg.out_height), prep_in_engine=True,
                             nvtx=cfg.nvtx, fuse_prep=cfg.fuse_prep, graph_post=cfg.graph_post)
        self.dev = self.stages.dev
        self.ranges = self.stages.ranges
        self.notes: list[str] = self.stages.notes
        self._sources = [self._make_source(i) for i in range(cfg.streams)]
        self._stop = threading.Event()
        self._sink_log: list[tuple[float, int]] = []
        self._boxes: list[int] = []
        self._outputs: list[np.ndarray] = []
        self._errors: list[BaseException] = []

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
                    item = Batch(index, self.stages.to_rgb(torch.stack([f for f, _ in got])))
                    item.ready = self.dev.record()
                index += 1
                if not self._put(outq, item):
                    return

    def _sink(self, item: Batch) -> None:
        self._outputs.extend(self.stages.finish(item, self.cfg.collect))
        self._count(item)

    def _post_naive(self, item: Batch) -> None:
        self.stages.post_naive(item)
        with self.ranges.range("fakesink"):
            self._outputs.extend(self.stages.finish(item, self.cfg.collect))
            self._count(item)

    def _count(self, item: Batch) -> None:
        self._boxes.extend(item.n_boxes)
        done = (self._sink_log[-1][1] if self._sink_log else 0) + item.size
        self._sink_log.append((time.perf_counter(), done))
        mb = self.cfg.max_batches
        if mb is not None and len(self._sink_log) >= mb:
            self._stop.set()

    # --- run ------------------------------------------------------------------------------
    def run(self) -> LabResult:
        cfg = self.cfg
        st = self.stages
        qn = cfg.queue_size
        dec_qs: list[queue.Queue] = [queue.Queue(maxsize=4) for _ in range(cfg.streams)]
        q_mux: queue.Queue = queue.Queue(maxsize=qn)
        q_inf: queue.Queue = queue.Queue(maxsize=qn)
        threads = [self._thread(f"nvv4l2decoder{i}", self._decoder, i, dec_qs[i])
                   for i in range(cfg.streams)]
        threads.append(self._thread("nvstreammux", self._mux, dec_qs, q_mux))
        threads.append(self._thread("nvinfer", self._stage, "nvinfer", st.infer, q_mux, q_inf))
        if cfg.mode == "naive":
            threads.append(self._thread("postprocess", self._stage, None, self._post_naive,
                                        q_inf, None))
        else:
            q_nms: queue.Queue = queue.Queue(maxsize=qn)
            q_tile: queue.Queue = queue.Queue(maxsize=qn)
            q_osd: queue.Queue = queue.Queue(maxsize=qn)
            threads += [
                self._thread("nvdspostprocess", self._stage, "nvdspostprocess", st.nms_gpu,
                             q_inf, q_nms, True),
                self._thread("nvmultistreamti", self._stage, "nvmultistreamtiler",
                             st.tile_gpu, q_nms, q_tile),
                self._thread("nvdsosd", self._stage, "nvdsosd", st.osd_gpu, q_tile, q_osd),
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
        frames = log[-1][1] if log else 0
        fps, window = (None, 0.0) if cfg.max_batches is not None else measured_fps(
            log, t0 + cfg.warmup)
        notes = list(self.notes)
        if cfg.source == "synthetic":
            notes.append("frames were made on the device: no video was decoded")
        spec = self.stages.spec
        return LabResult(cfg.mode, cfg.streams, cfg.batch_size, cfg.backend,
                         self._sources[0].label, str(self.device), fps, window, frames,
                         frames // cfg.streams, box_stats(self._boxes), self._outputs, notes,
                         engine="threads", model=spec.name, precision=cfg.precision,
                         input_size=spec.input_size, batches=len(log))


def run_lab(cfg: LabConfig) -> LabResult:
    if cfg.engine == "gst":
        from pipesight.lab.gpu.gst_pipeline import run_gst_lab

        return run_gst_lab(cfg)
    return LabPipeline(cfg).run()
