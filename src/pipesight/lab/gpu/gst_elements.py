"""The lab's own GStreamer elements, written in Python and registered in this process as real
GstElements (``Gst.Element.register``), so GStreamer's tracers see their pads, pushes and
streaming threads like any other element's:

==============  ===========  ==================================================================
factory         pads         job (the DeepStream plugin it stands for)
==============  ===========  ==================================================================
labbatcher      sink_%u, src  nvstreammux: one frame from each request pad in turn, uploaded to
                              the torch device; colour conversion, scaling and normalising of
                              the whole batch on the device; ONE buffer per ``batch-size``
                              frames, pushed from its own task (thread ``<name>:src``)
labinfer        sink, src     nvinfer: the detector on the batch
labnms          sink, src     nvdspostprocess (tuned): batched NMS on the device
labtiler        sink, src     nvmultistreamtiler (tuned): the tiled pictures on the device
labosd          sink, src     nvdsosd (tuned): the boxes drawn on the device
labsink         sink          fakesink: waits for the batch's GPU work, counts its frames
==============  ===========  ==================================================================

GstBuffers cannot carry torch tensors. Between these elements a buffer is a handle: its
``offset`` field holds the batch's index and its 12 bytes repeat the index and the frame count
(so it has a size); the batch itself (a ``stages.Batch``: tensors, CUDA event, results) waits
in a side table (``BatchTable``) under that index, from the batcher until the sink removes it.
Queues between the elements pass buffers untouched, so the index survives them.

Work on a batch is ``stages.Stages``', shared with the Python-thread engine; an element only
finds the batch, runs its step on its own CUDA stream and pushes the handle on. Properties
describe what the element runs (the pipeline builder sets them from the run's configuration);
pipesight reads ``batch-size``, ``precision``, ``width``, ``height`` and ``model`` from the
trace to check a ceiling's configuration against the pipeline's.

Import this module only after ``gst_media.require_gst()``: it needs PyGObject.
"""

from __future__ import annotations

import ctypes
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any, ClassVar

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstBase", "1.0")
from gi.repository import GLib, GObject, Gst, GstBase  # noqa: E402

from pipesight.lab.gpu.stages import Batch, Stages  # noqa: E402

BATCH_CAPS = "application/x-pipesight-lab-batch"
RAW_CAPS = "video/x-raw,format=(string){NV12,I420}"
_RW = GObject.ParamFlags.READWRITE
_INT_MAX = 2**31 - 1


class BatchTable:
    """Batches in flight, by index (the ``offset`` of the buffer that stands for each)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[int, Batch] = {}

    def put(self, item: Batch) -> None:
        with self._lock:
            self._items[item.index] = item

    def get(self, index: int) -> Batch:
        with self._lock:
            return self._items[index]

    def pop(self, index: int) -> Batch:
        with self._lock:
            return self._items.pop(index)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


@dataclass
class SinkRecord:
    """What the sink saw: (time, frames so far) per batch, boxes per frame, the pictures."""

    log: list[tuple[float, int]] = field(default_factory=list)
    boxes: list[int] = field(default_factory=list)
    outputs: list[Any] = field(default_factory=list)

    def add(self, item: Batch, pictures: list[Any]) -> None:
        done = (self.log[-1][1] if self.log else 0) + item.size
        self.log.append((time.perf_counter(), done))
        self.boxes.extend(item.n_boxes)
        self.outputs.extend(pictures)


@dataclass
class LabContext:
    """What the elements of one pipeline share."""

    stages: Stages
    collect: bool = False
    upload: str = "pinned"  # decoded frames to the device through pinned memory, or pageable
    table: BatchTable = field(default_factory=BatchTable)
    record: SinkRecord = field(default_factory=SinkRecord)


def batch_buffer(item: Batch, pts: int) -> Any:
    buf = Gst.Buffer.new_wrapped(struct.pack("<qI", item.index, item.size))
    buf.offset = item.index
    buf.pts = pts
    return buf


# --- frames out of GstBuffers without a copy through Python bytes ------------------------------
class _MapInfo(ctypes.Structure):
    _fields_ = [("memory", ctypes.c_void_p), ("flags", ctypes.c_int), ("data", ctypes.c_void_p),
                ("size", ctypes.c_size_t), ("maxsize", ctypes.c_size_t),
                ("user_data", ctypes.c_void_p * 4), ("_gst_reserved", ctypes.c_void_p * 4)]


class FrameReader:
    """Reads a buffer's bytes as a numpy view of its mapped memory.

    PyGObject's own ``Buffer.map`` hands the bytes over as a Python ``bytes`` copy, 1.4 MB per
    720p frame made while holding the interpreter lock that every Python element shares. So the
    buffer is mapped through libgstreamer with ctypes: PyGObject's ``hash()`` of a buffer is the
    address of its GstBuffer. That is checked once on a buffer of known bytes; where it does not
    hold, the copy is used."""

    _MAP_READ = 1

    def __init__(self) -> None:
        self._lib: Any = None
        try:
            lib = ctypes.CDLL("libgstreamer-1.0.so.0")
            lib.gst_buffer_map.argtypes = [ctypes.c_void_p, ctypes.POINTER(_MapInfo), ctypes.c_int]
            lib.gst_buffer_map.restype = ctypes.c_int
            lib.gst_buffer_unmap.argtypes = [ctypes.c_void_p, ctypes.POINTER(_MapInfo)]
            probe = Gst.Buffer.new_wrapped(b"pipesight-map-probe")
            info = _MapInfo()
            if lib.gst_buffer_map(hash(probe), ctypes.byref(info), self._MAP_READ):
                ok = ctypes.string_at(info.data, info.size) == b"pipesight-map-probe"
                lib.gst_buffer_unmap(hash(probe), ctypes.byref(info))
                if ok:
                    self._lib = lib
        except (OSError, AttributeError):
            pass

    def with_view(self, buf: Any, use: Any) -> Any:
        """use(numpy uint8 view of the buffer's bytes); the view is valid only inside use."""
        import numpy as np

        if self._lib is None:
            return use(np.frombuffer(buf.extract_dup(0, buf.get_size()), np.uint8))
        info = _MapInfo()
        if not self._lib.gst_buffer_map(hash(buf), ctypes.byref(info), self._MAP_READ):
            raise RuntimeError("cannot map a decoded frame")
        try:
            raw = (ctypes.c_uint8 * info.size).from_address(info.data)
            return use(np.ctypeslib.as_array(raw))
        finally:
            self._lib.gst_buffer_unmap(hash(buf), ctypes.byref(info))


# --- shared element plumbing -------------------------------------------------------------------
def _int(nick: str, blurb: str, lo: int, hi: int, default: int) -> tuple:
    return (int, nick, blurb, lo, hi, default, _RW)


def _str(nick: str, blurb: str, default: str) -> tuple:
    return (str, nick, blurb, default, _RW)


def _get_property(self: Any, pspec: Any) -> Any:
    return self.props_values.get(pspec.name, pspec.default_value)


def _set_property(self: Any, pspec: Any, value: Any) -> None:
    self.props_values[pspec.name] = value


def post_error(element: Any, exc: BaseException) -> None:
    """An exception in a streaming thread becomes an error message on the bus, which ends the
    run with that message (PyGObject would only print it and carry on)."""
    import traceback

    err = GLib.Error.new_literal(Gst.StreamError.quark(), f"{type(exc).__name__}: {exc}",
                                 Gst.StreamError.FAILED)
    element.post_message(Gst.Message.new_error(element, err, traceback.format_exc()[-4000:]))


class _Lab:
    """Base of the lab's elements: properties kept in a dict, the shared context.

    A plain Python class mixed in before Gst.Element, not a GObject type of its own: GObject
    runs each ancestor type's instance initialiser with the class of that ancestor, so
    PyGObject, which calls ``__init__`` from the first Python-made type's initialiser, would
    run it while the element's class (its pad templates) is not yet in place."""

    lab: LabContext | None = None

    def __init__(self) -> None:
        super().__init__()
        self.props_values: dict[str, Any] = {}

    do_get_property = _get_property
    do_set_property = _set_property

    def _ctx(self) -> LabContext:
        if self.lab is None:
            raise RuntimeError(f"{self.get_name()} was not given its lab context")
        return self.lab


class _BatchFilter(_Lab):
    """One batch in, the same batch out: ``step`` runs on the thread that pushes into the sink
    pad (the queue's in front), on this element's CUDA stream."""

    def __init__(self) -> None:
        super().__init__()
        self.sinkpad = Gst.Pad.new_from_template(self.get_pad_template("sink"), "sink")
        self.srcpad = Gst.Pad.new_from_template(self.get_pad_template("src"), "src")
        self.sinkpad.set_chain_function_full(self._chain)
        self.add_pad(self.sinkpad)
        self.add_pad(self.srcpad)
        self._stream: Any = None

    def step(self, stages: Stages, item: Batch) -> None:
        raise NotImplementedError

    def _chain(self, _pad: Any, _parent: Any, buf: Any) -> Any:
        try:
            lab = self._ctx()
            st = lab.stages
            if self._stream is None:
                self._stream = st.dev.stream()
            item = lab.table.get(buf.offset)
            with st.dev.work(self._stream), st.ranges.range(self.get_name()):
                self.step(st, item)
        except Exception as e:
            post_error(self, e)
            return Gst.FlowReturn.ERROR
        return self.srcpad.push(buf)


class Infer(_BatchFilter, Gst.Element):
    __gtype_name__ = "PipesightLabInfer"
    __gproperties__: ClassVar = {
        "batch-size": _int("Batch size", "frames per inference", 1, 4096, 1),
        "width": _int("Width", "network input width in pixels", 1, 16384, 640),
        "height": _int("Height", "network input height in pixels", 1, 16384, 640),
        "precision": _str("Precision", "fp16, bf16 or fp32", "fp16"),
        "model": _str("Model", "the lab detector (yolo-x, yolo-m, yolo-tiny)", ""),
        "backend": _str("Backend", "eager, cudagraph, compile or compile-cudagraph", ""),
    }

    def step(self, stages: Stages, item: Batch) -> None:
        stages.infer(item)


class Nms(_BatchFilter, Gst.Element):
    __gtype_name__ = "PipesightLabNms"

    def step(self, stages: Stages, item: Batch) -> None:
        stages.dev.sync(item.ready)  # inference done: what this thread waits for is the GPU
        stages.nms_gpu(item)


class Tiler(_BatchFilter, Gst.Element):
    __gtype_name__ = "PipesightLabTiler"
    __gproperties__: ClassVar = {
        "width": _int("Width", "tiled picture width in pixels", 2, 16384, 1280),
        "height": _int("Height", "tiled picture height in pixels", 2, 16384, 720),
    }

    def step(self, stages: Stages, item: Batch) -> None:
        stages.tile_gpu(item)


class Osd(_BatchFilter, Gst.Element):
    __gtype_name__ = "PipesightLabOsd"

    def step(self, stages: Stages, item: Batch) -> None:
        stages.osd_gpu(item)


class Sink(GstBase.BaseSink):
    """Counts frames, keeps pictures for tests and removes the batch from the side table."""

    __gtype_name__ = "PipesightLabSink"
    lab: LabContext | None = None

    def __init__(self) -> None:
        super().__init__()
        self._stream: Any = None

    def do_render(self, buf: Any) -> Any:
        try:
            lab = self.lab
            assert lab is not None, "the sink was not given its lab context"
            st = lab.stages
            if self._stream is None:
                self._stream = st.dev.stream()
            item = lab.table.pop(buf.offset)
            with st.dev.work(self._stream), st.ranges.range(self.get_name()):
                pictures = st.finish(item, lab.collect)
            lab.record.add(item, pictures)
        except Exception as e:
            post_error(self, e)
            return Gst.FlowReturn.ERROR
        return Gst.FlowReturn.OK


def make_naive_probe(lab: LabContext) -> Any:
    """The naive post-processing as one pad probe: NMS per frame in numpy, tiling and drawing on
    the host, in series on the thread that carries the buffer (the queue's in front of the
    sink), so inference waits on that full queue meanwhile. Returns the probe callback, named
    for what it does (pipesight names a Python probe by its function)."""
    state: dict[str, Any] = {}

    def naive_postprocess(pad: Any, info: Any) -> Any:
        st = lab.stages
        try:
            if "stream" not in state:
                state["stream"] = st.dev.stream()
            item = lab.table.get(info.get_buffer().offset)
            with st.dev.work(state["stream"]):
                st.post_naive(item)
        except Exception as e:
            post_error(pad.get_parent_element(), e)
            return Gst.PadProbeReturn.DROP
        return Gst.PadProbeReturn.OK

    return naive_postprocess


# --- the batcher -------------------------------------------------------------------------------
@dataclass
class _Inlet:
    index: int
    frames: deque = field(default_factory=deque)  # ((device tensor, copied event), pts)
    eos: bool = False
    stream: Any = None
    caps: tuple[str, int, int] | None = None
    # pinned host buffers the frames go through on their way to the device, each with the
    # event after which its copy is done and it may be filled again
    staging: list[list[Any]] = field(default_factory=list)
    turn: int = 0


class Batcher(_Lab, Gst.Element):
    """Forms batches like nvstreammux: with N linked sink pads and ``batch-size`` B (a multiple
    of N), batch slot s holds the next frame of stream s mod N. Each sink pad uploads its frame
    to the device on the thread that pushes it (the stream's queue) and blocks while it holds
    ``depth`` frames not yet batched, so a slow pipeline slows the decoders down. The src pad's
    own task waits until every stream has its share, converts and scales the batch on the
    device and pushes one buffer. EOS goes downstream once a stream has ended and the next batch
    cannot be filled (a part batch is dropped: the device code is captured for one shape), or
    after ``num-batches`` batches."""

    __gtype_name__ = "PipesightLabBatcher"
    __gproperties__: ClassVar = {
        "batch-size": _int("Batch size", "frames per batch (a multiple of the linked sink pads)",
                           1, 4096, 1),
        "width": _int("Width", "width the frames are scaled to (network input)", 1, 16384, 640),
        "height": _int("Height", "height the frames are scaled to (network input)", 1, 16384,
                       640),
        "num-batches": _int("Num batches", "push EOS after this many batches (-1: no limit)",
                            -1, _INT_MAX, -1),
    }
    depth = 2  # frames each stream may hold beyond its share of the batch being formed

    def __init__(self) -> None:
        super().__init__()
        self.srcpad = Gst.Pad.new_from_template(self.get_pad_template("src"), "src")
        self.add_pad(self.srcpad)
        self._cond = threading.Condition()
        self._inlets: dict[str, _Inlet] = {}
        self._flushing = True
        self._finished = False
        self._eos_sent = False
        self._started = False
        self._index = 0
        self._stream: Any = None
        self._reader = FrameReader()

    # pads
    def do_request_new_pad(self, templ: Any, name: str | None, _caps: Any) -> Any:
        with self._cond:
            used = {i.index for i in self._inlets.values()}
            index = int(name.rsplit("_", 1)[1]) if name else next(
                i for i in range(len(used) + 1) if i not in used)
            pad = Gst.Pad.new_from_template(templ, f"sink_{index}")
            self._inlets[pad.get_name()] = _Inlet(index)
        pad.set_chain_function_full(self._chain)
        pad.set_event_function_full(self._event)
        if self.get_state(0)[1] in (Gst.State.PAUSED, Gst.State.PLAYING):
            pad.set_active(True)
        self.add_pad(pad)
        return pad

    def do_release_pad(self, pad: Any) -> None:
        with self._cond:
            self._inlets.pop(pad.get_name(), None)
            self._cond.notify_all()
        self.remove_pad(pad)

    def do_change_state(self, transition: Any) -> Any:
        if transition == Gst.StateChange.READY_TO_PAUSED:
            with self._cond:
                self._flushing, self._finished, self._started = False, False, False
                self._eos_sent = False
                self._index = 0
                for i in self._inlets.values():
                    i.frames.clear()
                    i.eos = False
        elif transition == Gst.StateChange.PAUSED_TO_READY:
            with self._cond:  # wake every waiting thread; they return FLUSHING
                self._flushing = True
                self._cond.notify_all()
        ret = Gst.Element.do_change_state(self, transition)
        if transition == Gst.StateChange.READY_TO_PAUSED and ret != Gst.StateChangeReturn.FAILURE:
            self.srcpad.start_task(self._loop)
        elif transition == Gst.StateChange.PAUSED_TO_READY:
            self.srcpad.stop_task()
            with self._cond:
                for i in self._inlets.values():
                    i.frames.clear()
        return ret

    # the streams' side: one call per decoded frame, on that stream's thread
    def _event(self, pad: Any, _parent: Any, event: Any) -> bool:
        inlet = self._inlets.get(pad.get_name())
        if inlet is None:
            return False
        if event.type == Gst.EventType.CAPS:
            return self._caps(inlet, event.parse_caps())
        if event.type == Gst.EventType.EOS:
            with self._cond:
                inlet.eos = True
                self._cond.notify_all()
        # stream-start, segment, tags: the batches are a stream of their own (see _announce)
        return True

    def _caps(self, inlet: _Inlet, caps: Any) -> bool:
        s = caps.get_structure(0)
        got = (s.get_string("format"), s.get_value("width"), s.get_value("height"))
        st = self._ctx().stages
        want = (st.pixel_format.upper(), st.width, st.height)
        if got != want:
            post_error(self, ValueError(f"sink_{inlet.index} has {got[0]} {got[1]}x{got[2]}; "
                                        f"the lab was set up for {want[0]} {want[1]}x{want[2]}"))
            return False
        inlet.caps = got
        return True

    def _chain(self, pad: Any, _parent: Any, buf: Any) -> Any:
        inlet = self._inlets.get(pad.get_name())
        if inlet is None:
            return Gst.FlowReturn.NOT_LINKED
        if self._finished:
            return Gst.FlowReturn.EOS
        try:
            frame = self._upload(inlet, buf)
        except Exception as e:
            post_error(self, e)
            return Gst.FlowReturn.ERROR
        with self._cond:
            while len(inlet.frames) >= self._share() + self.depth and not (
                    self._flushing or self._finished):
                self._cond.wait(0.1)
            if self._flushing:
                return Gst.FlowReturn.FLUSHING
            if self._finished:
                return Gst.FlowReturn.EOS
            inlet.frames.append((frame, buf.pts))
            self._cond.notify_all()
        return Gst.FlowReturn.OK

    def _upload(self, inlet: _Inlet, buf: Any) -> Any:
        import torch

        st = self._ctx().stages
        want = st.width * st.height * 3 // 2
        if buf.get_size() != want:  # a decoder's padded rows would need GstVideoMeta strides
            raise ValueError(f"sink_{inlet.index}: a {st.width}x{st.height} frame of "
                             f"{buf.get_size()} bytes; the batcher reads unpadded 4:2:0 planes "
                             f"({want} bytes)")
        if inlet.stream is None:
            inlet.stream = st.dev.stream()
        if not st.dev.cuda or self._ctx().upload != "pinned":
            with st.dev.work(inlet.stream):
                # a blocking copy: once it returns, the decoder may have its memory back
                return self._reader.with_view(
                    buf, lambda a: torch.from_numpy(a).to(st.device, copy=True)), None
        # through pinned memory: the copy to the device runs on the copy engine while this
        # thread goes back for the next frame (a pageable copy blocks it, and is staged by the
        # driver through its own pinned buffer anyway)
        if len(inlet.staging) < self.depth + 2:
            inlet.staging.append([torch.empty(want, dtype=torch.uint8, pin_memory=True), None])
        slot = inlet.staging[inlet.turn % len(inlet.staging)]
        inlet.turn += 1
        if slot[1] is not None:
            slot[1].synchronize()  # its previous copy is done
        self._reader.with_view(buf, lambda a: slot[0].copy_(torch.from_numpy(a)))
        with st.dev.work(inlet.stream):
            frame = slot[0].to(st.device, non_blocking=True)
            slot[1] = st.dev.record()
        return frame, slot[1]

    def _share(self) -> int:
        n = max(len(self._inlets), 1)
        return max(self.props_values.get("batch-size", 1) // n, 1)

    # the batch's side: the src pad's task
    def _loop(self, *_args: Any) -> None:
        try:
            self._next_batch()
        except Exception as e:  # PyGObject would print it and the task would call again
            post_error(self, e)
            self.srcpad.pause_task()

    def _next_batch(self) -> None:
        inlets = sorted(self._inlets.values(), key=lambda i: i.index)
        k = self._share()
        with self._cond:
            while not self._flushing:
                if inlets and all(len(i.frames) >= k for i in inlets):
                    break
                if any(i.eos and len(i.frames) < k for i in inlets):
                    break
                self._cond.wait(0.1)
                inlets = sorted(self._inlets.values(), key=lambda i: i.index)
            if self._flushing:
                self.srcpad.pause_task()
                return
            complete = all(len(i.frames) >= k for i in inlets)
            # slot s takes stream s mod N: stream by stream for each of its k frames
            taken = ([inlets[s % len(inlets)].frames.popleft() for s in range(k * len(inlets))]
                     if complete else [])
            self._cond.notify_all()
        if not complete:
            self._finish()
            return
        item = self._batch([f for f, _ in taken])
        self._announce()
        lab = self._ctx()
        lab.table.put(item)
        ret = self.srcpad.push(batch_buffer(item, taken[0][1]))
        if ret != Gst.FlowReturn.OK:
            lab.table.pop(item.index)
            if ret not in (Gst.FlowReturn.FLUSHING, Gst.FlowReturn.EOS):
                post_error(self, RuntimeError(f"pushing a batch returned {ret.value_nick}"))
            with self._cond:
                self._finished = True
                self._cond.notify_all()
            self.srcpad.pause_task()
            return
        limit = self.props_values.get("num-batches", -1)
        if limit >= 0 and self._index >= limit:
            self._finish()

    def _batch(self, frames: list[Any]) -> Batch:
        st = self._ctx().stages
        dev = st.dev
        if self._stream is None:
            self._stream = dev.stream()
        torch = dev.torch
        with dev.work(self._stream), st.ranges.range(self.get_name()):
            for t, copied in frames:  # uploaded on the streams' CUDA streams, read on this one
                dev.wait(copied, t)
            raw = torch.stack([t for t, _ in frames]).view(len(frames), st.height * 3 // 2,
                                                           st.width)
            rgb = st.to_rgb(raw)
            item = Batch(self._index, rgb, net_input=st.prepare(rgb))
            item.ready = dev.record()
        self._index += 1
        return item

    def _announce(self) -> None:
        """The events a stream starts with, once, before the first batch."""
        if self._started:
            return
        self._started = True
        self.srcpad.push_event(Gst.Event.new_stream_start(f"{self.get_name()}-batches"))
        self.srcpad.push_event(Gst.Event.new_caps(Gst.Caps.from_string(BATCH_CAPS)))
        seg = Gst.Segment()
        seg.init(Gst.Format.TIME)
        self.srcpad.push_event(Gst.Event.new_segment(seg))

    def _finish(self) -> None:
        """EOS downstream; the streams' next frames are refused (EOS), which stops them."""
        with self._cond:
            if self._finished and self._eos_sent:
                return
            self._finished = self._eos_sent = True
            self._cond.notify_all()
        self._announce()
        self.srcpad.push_event(Gst.Event.new_eos())
        self.srcpad.pause_task()


# --- registration ------------------------------------------------------------------------------
_ELEMENTS: list[tuple[str, type, str, str, list[tuple[str, Any, Any, str]]]] = [
    ("labbatcher", Batcher, "Lab batcher", "frames of N streams -> batches on the device (as "
     "nvstreammux, with nvinfer's pre-processing)",
     [("sink_%u", Gst.PadDirection.SINK, Gst.PadPresence.REQUEST, RAW_CAPS),
      ("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, BATCH_CAPS)]),
    ("labinfer", Infer, "Lab inference", "the lab detector on a batch, with torch (as nvinfer)",
     []),
    ("labnms", Nms, "Lab NMS", "batched non-maximum suppression on the device", []),
    ("labtiler", Tiler, "Lab tiler", "one tiled picture per N frames, on the device", []),
    ("labosd", Osd, "Lab OSD", "boxes drawn on the tiled pictures, on the device", []),
]
_FILTER_PADS = [("sink", Gst.PadDirection.SINK, Gst.PadPresence.ALWAYS, BATCH_CAPS),
                ("src", Gst.PadDirection.SRC, Gst.PadPresence.ALWAYS, BATCH_CAPS)]
_registered = False


def register() -> None:
    """Adds the lab's elements to this process's GStreamer registry (once)."""
    global _registered
    if _registered:
        return
    author = "pipesight"
    for name, cls, long_name, description, pads in _ELEMENTS:
        for tmpl, direction, presence, caps in pads or _FILTER_PADS:
            cls.add_pad_template(Gst.PadTemplate.new(tmpl, direction, presence,
                                                     Gst.Caps.from_string(caps)))
        cls.set_metadata(long_name, "Filter/Video", description, author)
        if not Gst.Element.register(None, name, Gst.Rank.NONE, cls.__gtype__):
            raise RuntimeError(f"could not register the element {name}")
    Sink.add_pad_template(Gst.PadTemplate.new("sink", Gst.PadDirection.SINK,
                                              Gst.PadPresence.ALWAYS,
                                              Gst.Caps.from_string(BATCH_CAPS)))
    Sink.set_metadata("Lab sink", "Sink", "the end of the lab pipeline: counts frames", author)
    if not Gst.Element.register(None, "labsink", Gst.Rank.NONE, Sink.__gtype__):
        raise RuntimeError("could not register the element labsink")
    _registered = True
