"""The lab pipeline as a real GStreamer pipeline (``pipesight lab gpu --engine gst``).

Real elements where GStreamer has them, the lab's Python elements (``gst_elements.py``) where
it does not. Per stream i (its thread: ``src{i}:src``, which also parses and decodes):

    multifilesrc name=src{i} (the clip's access units, looped) ! h264parse name=parse{i}
      ! nvh264dec|avdec_h264 name=dec{i} ! capsfilter name=caps{i} (NV12 | I420)
      ! queue name=q_dec{i} (thread q_dec{i}:src: uploads into the batcher)

then one branch:

    labbatcher name=batcher (task thread batcher:src) ! queue name=q_infer ! labinfer name=infer
    naive: ! queue name=q_post ! labsink name=sink
           with ONE pad probe on q_post's src pad doing all post-processing on the host, in
           series (thread q_post:src, which also runs the sink)
    tuned: ! queue name=q_nms ! labnms name=nms ! queue name=q_tiler ! labtiler name=tiler
           ! queue name=q_osd ! labosd name=osd ! queue name=q_sink ! labsink name=sink
           (each step on its own queue thread, on the device, CUDA graphs on CUDA)

The pipeline is built from its textual description (``describe``), the one gst-launch-1.0 would
take, and stopped with EOS: at ``--duration``, on SIGINT/SIGTERM (``pipesight profile`` stops a
command with SIGINT) or after ``--batches``; the run waits for EOS on the bus so every streaming
thread ends and tracers close their files. The application does not touch GStreamer's
environment (GST_TRACERS, GST_PLUGIN_PATH, ... stay as ``pipesight profile`` set them).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from pipesight.errors import UserError
from pipesight.lab.gpu.config import LabConfig, LabResult, box_stats, measured_fps
from pipesight.lab.gpu.gst_media import DECODERS, LoopClip, loop_clip, pick_decoder, require_gst
from pipesight.lab.gpu.sources import clip_for
from pipesight.lab.gpu.stages import MODES, Stages, resolve_device

_POLL_S = 0.05
EOS_TIMEOUT_S = 60.0  # from the EOS event to EOS on the bus, before the run is called stuck
_PY_ELEMENTS = ("batcher", "infer", "nms", "tiler", "osd", "sink")


def _queue(name: str, buffers: int) -> str:
    # count buffers only: the batch handles are 12 bytes, and time limits mean nothing here
    return f"queue name={name} max-size-buffers={buffers} max-size-bytes=0 max-size-time=0"


def describe(cfg: LabConfig, clips: list[LoopClip], decoder: str, input_size: int) -> str:
    """The pipeline in gst-launch-1.0 syntax."""
    b, s = cfg.batch_size, input_size
    fmt = DECODERS[decoder]
    batcher = f"labbatcher name=batcher batch-size={b} width={s} height={s}"
    if cfg.max_batches is not None:
        batcher += f" num-batches={cfg.max_batches}"
    infer = (f"labinfer name=infer batch-size={b} width={s} height={s} precision={cfg.precision}"
             f" model={cfg.model} backend={cfg.backend}")
    q = cfg.queue_size
    if cfg.mode == "naive":
        post = [_queue("q_post", q)]
    else:
        post = [_queue("q_nms", q), "labnms name=nms", _queue("q_tiler", q),
                f"labtiler name=tiler width={cfg.out_width} height={cfg.out_height}",
                _queue("q_osd", q), "labosd name=osd", _queue("q_sink", q)]
    parts = [" ! ".join([batcher, _queue("q_infer", q), infer, *post,
                         "labsink name=sink sync=false"])]
    for i, c in enumerate(clips):
        parts.append(" ! ".join([
            f'multifilesrc name=src{i} location="{c.location}" loop=true '
            f'stop-index={c.frames - 1} caps="video/x-h264,stream-format=byte-stream,'
            f'alignment=au,framerate={c.fps_n}/{c.fps_d}"',
            f"h264parse name=parse{i}", f"{decoder} name=dec{i}",
            f'capsfilter name=caps{i} caps="video/x-raw,format={fmt}"',
            _queue(f"q_dec{i}", 4), f"batcher.sink_{i}"]))
    return "  ".join(parts)


class _Stop:
    """SIGINT and SIGTERM ask for EOS (a second one stops at once); the previous handlers come
    back afterwards. Only the main thread may set handlers; elsewhere the run ends by time."""

    def __init__(self) -> None:
        self.count = 0

    def _handle(self, _sig: int, _frame: Any) -> None:
        self.count += 1

    @contextlib.contextmanager
    def installed(self) -> Iterator[_Stop]:
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, h in old.items():
                signal.signal(s, h)


def _check(cfg: LabConfig) -> None:
    if cfg.mode not in MODES:
        raise UserError(f"--mode must be one of {', '.join(MODES)}")
    if cfg.streams < 1 or cfg.batch_size < 1 or cfg.batch_size % cfg.streams:
        raise UserError("--streams must be >= 1 and --batch a multiple of --streams")
    if cfg.frame_width is not None:
        raise UserError("--frame-size is for the threads engine; --engine gst batches the "
                        "clips at their own size and scales them on the device")


def run_gst_lab(cfg: LabConfig) -> LabResult:
    _check(cfg)
    gst = require_gst()
    decoder = pick_decoder(gst, cfg.decoder)
    clips = [loop_clip(clip_for(i)) for i in range(cfg.streams)]
    sizes = {(c.width, c.height) for c in clips}
    if len(sizes) != 1:
        raise UserError(f"the lab clips differ in size ({sorted(sizes)}); the batcher needs one")
    (w, h), = sizes
    if w % 8 or h % 2:
        raise UserError(f"the lab clips are {w}x{h}; the batcher needs a width divisible by 8 "
                        "and an even height")
    device = resolve_device(cfg.device, "--device cpu --decoder avdec_h264")
    stages = Stages(mode=cfg.mode, streams=cfg.streams, batch=cfg.batch_size, model=cfg.model,
                    backend=cfg.backend, precision=cfg.precision, device=device,
                    frame_size=(w, h), pixel_format=DECODERS[decoder].lower(),
                    out_size=(cfg.out_width, cfg.out_height), prep_in_engine=False,
                    nvtx=cfg.nvtx, fuse_prep=cfg.fuse_prep, graph_post=cfg.graph_post)
    from pipesight.lab.gpu import gst_elements as ge

    ge.register()
    ctx = ge.LabContext(stages, collect=cfg.collect, upload=cfg.upload)
    text = describe(cfg, clips, decoder, stages.spec.input_size)
    try:
        pipeline = gst.parse_launch(text)
    except Exception as e:  # GLib.Error: an element or property this GStreamer lacks
        raise UserError(f"GStreamer could not build the lab pipeline: {e}") from None
    for name in _PY_ELEMENTS:
        el = pipeline.get_by_name(name)
        if el is not None:
            el.lab = ctx
    if cfg.mode == "naive":
        pad = pipeline.get_by_name("q_post").get_static_pad("src")
        pad.add_probe(gst.PadProbeType.BUFFER, ge.make_naive_probe(ctx))
    t0, eos_at, error, stopped = _play(gst, pipeline, cfg, stages)
    ctx.table.clear()
    if error:  # the pipeline's own failure, said in one line (not a bug of pipesight's)
        raise UserError(f"the lab pipeline failed: {error}", exit_code=1)
    rec = ctx.record
    frames = rec.log[-1][1] if rec.log else 0
    notes = list(stages.notes)
    fps, window = None, 0.0
    if cfg.max_batches is None:
        fps, window = measured_fps(rec.log, t0 + cfg.warmup, eos_at)
        if fps is None:
            notes.append("no FPS: fewer than two batches reached the sink after the warm-up"
                         + (" (stopped early by a signal)" if stopped else ""))
    return LabResult(cfg.mode, cfg.streams, cfg.batch_size, cfg.backend,
                     f"gst: multifilesrc ! h264parse ! {decoder} (the lab clips, looped)",
                     str(device), fps, window, frames, frames // cfg.streams,
                     box_stats(rec.boxes), rec.outputs, notes, engine="gst",
                     model=stages.spec.name, precision=cfg.precision,
                     input_size=stages.spec.input_size, batches=len(rec.log))


def _bus_error(msg: Any) -> str:
    err, debug = msg.parse_error()
    where = msg.src.get_name() if msg.src is not None else "?"
    last = (debug or "").strip().splitlines()[-1:] or [""]
    return f"{where}: {err.message}" + (f" ({last[0]})" if last[0] else "")


def _play(gst: Any, pipeline: Any, cfg: LabConfig,
          stages: Stages) -> tuple[float, float | None, str | None, bool]:
    """Runs until EOS on the bus. Returns (start, when EOS was sent or None, error, whether a
    signal stopped it)."""
    bus = pipeline.get_bus()
    want = gst.MessageType.EOS | gst.MessageType.ERROR
    profiler = stages.dev.torch.cuda.cudart() if (cfg.profiler_window and stages.dev.cuda
                                                  and cfg.max_batches is None) else None
    profiling = False
    error: str | None = None
    eos_at: float | None = None
    stop = _Stop()
    with stop.installed():
        if pipeline.set_state(gst.State.PLAYING) == gst.StateChangeReturn.FAILURE:
            msg = bus.timed_pop_filtered(gst.SECOND, gst.MessageType.ERROR)
            pipeline.set_state(gst.State.NULL)
            raise UserError("the lab pipeline did not start: "
                            + (_bus_error(msg) if msg else "no error message"), exit_code=1)
        t0 = time.perf_counter()
        deadline = None if cfg.max_batches is not None else t0 + cfg.warmup + cfg.duration
        try:
            while True:
                msg = bus.timed_pop_filtered(int(_POLL_S * gst.SECOND), want)
                if msg is not None:
                    if msg.type == gst.MessageType.ERROR:
                        error = _bus_error(msg)
                    break
                now = time.perf_counter()
                if profiler and not profiling and eos_at is None and now >= t0 + cfg.warmup:
                    profiler.cudaProfilerStart()
                    profiling = True
                if eos_at is None and (stop.count or (deadline and now >= deadline)):
                    eos_at = now
                    if profiling:
                        profiler.cudaProfilerStop()
                        profiling = False
                    pipeline.send_event(gst.Event.new_eos())
                if stop.count > 1:
                    error = "stopped by a second signal before the pipeline drained"
                    break
                if eos_at is not None and now - eos_at > EOS_TIMEOUT_S:
                    error = f"no EOS on the bus {EOS_TIMEOUT_S:.0f} s after it was sent"
                    break
        finally:
            if profiling:
                profiler.cudaProfilerStop()
            pipeline.set_state(gst.State.NULL)
            if stages.dev.cuda:
                stages.dev.torch.cuda.synchronize(stages.device)
    return t0, eos_at, error, bool(stop.count)
