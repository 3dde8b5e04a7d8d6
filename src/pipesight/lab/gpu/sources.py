"""Where the lab pipeline's frames come from (its nvv4l2decoder stage), one source per stream.

* ``nvdec`` — the H.264 clips decoded on the GPU's NVDEC engines through PyNvVideoCodec's
  ThreadedDecoder, which demuxes and decodes on a native thread of its own (as nvv4l2decoder
  does), so the Python thread only copies finished frames out;
* ``nvdec-sync`` — the same decode driven packet by packet from the Python thread
  (``Decode()``), the way a first draft calls it: the decode then runs under Python's lock;
* ``gst`` — the same clips decoded on the CPU by GStreamer (openh264dec), optionally scaled:
  the CPU tests' source;
* ``synthetic`` — frames drawn on the device, no decoding at all: a labelled fallback for a
  machine where NVDEC cannot be reached.

Every source loops its clip forever and yields uint8 frames on its device, in its
``pixel_format``: "rgb" [H, W, 3], or "nv12" [H * 3 / 2, W] as the decoder writes it (the
batching stage converts a whole batch at once, which costs far fewer kernel launches).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pipesight.errors import UserError

MEDIA = Path(__file__).resolve().parent / "media"


def clips() -> list[Path]:
    found = sorted(MEDIA.glob("clip*.mp4"))
    if not found:
        raise UserError(f"no lab clips in {MEDIA}; regenerate them with {MEDIA / 'make.sh'}")
    return found


def clip_for(stream: int) -> Path:
    c = clips()
    return c[stream % len(c)]


def yuv420_to_rgb(raw: Any, height: int, width: int, layout: str = "nv12") -> Any:
    """[..., H * 3 / 2, W] uint8 planes as a decoder writes them -> [..., H, W, 3] uint8 RGB,
    BT.601 limited range, in integers. ``layout`` "nv12": the luma plane, then U and V
    interleaved at half resolution; "i420": the luma plane, then the U plane, then the V plane
    (each packed, so W must be a multiple of 4 for them to fill whole rows)."""
    import torch

    lead = raw.shape[:-2]
    y = raw[..., :height, :].to(torch.int32) - 16
    chroma = raw[..., height:height + height // 2, :]
    if layout == "nv12":
        uv = chroma.reshape(*lead, height // 2, width // 2, 2)
        u, v = uv[..., 0], uv[..., 1]
    elif layout == "i420":
        planes = chroma.reshape(*lead, 2, height // 2, width // 2)
        u, v = planes[..., 0, :, :], planes[..., 1, :, :]
    else:
        raise ValueError(f"unknown YUV 4:2:0 layout {layout!r}")
    u = u.to(torch.int32).repeat_interleave(2, -2).repeat_interleave(2, -1) - 128
    v = v.to(torch.int32).repeat_interleave(2, -2).repeat_interleave(2, -1) - 128
    c = 298 * y + 128
    rgb = torch.stack([c + 409 * v, c - 100 * u - 208 * v, c + 516 * u], -1) >> 8
    return rgb.clamp_(0, 255).to(torch.uint8)


def nv12_to_rgb(nv12: Any, height: int, width: int) -> Any:
    """[..., H * 3 / 2, W] uint8 NV12 -> [..., H, W, 3] uint8 RGB (see ``yuv420_to_rgb``)."""
    return yuv420_to_rgb(nv12, height, width, "nv12")


def primary_context(index: int) -> int:
    """The device's primary CUDA context (the one PyTorch uses), so decoded surfaces are
    addressable from PyTorch's kernels."""
    import ctypes

    import torch

    torch.cuda.init()
    lib = ctypes.CDLL("libcuda.so.1")
    dev, ctx = ctypes.c_int(), ctypes.c_void_p()
    if lib.cuDeviceGet(ctypes.byref(dev), index) or lib.cuDevicePrimaryCtxRetain(
            ctypes.byref(ctx), dev):
        raise RuntimeError("cannot retain the primary CUDA context")
    return int(ctx.value or 0)


class NvdecSource:
    """PyNvVideoCodec demuxer + decoder driven from the calling thread, on the caller's CUDA
    stream; frames are copied out of the decoder's surfaces before the next decode reuses them."""

    label = "nvdec-sync (PyNvVideoCodec Decode() per packet, H.264 on NVDEC)"
    pixel_format = "nv12"

    def __init__(self, path: Path, device: Any, stream: Any) -> None:
        import PyNvVideoCodec as nvc
        import torch

        self._nvc, self._torch = nvc, torch
        self.path, self.device, self.stream = path, device, stream
        self._dmx = nvc.CreateDemuxer(filename=str(path))
        self.width, self.height = self._dmx.Width(), self._dmx.Height()
        self._dec = nvc.CreateDecoder(gpuid=device.index or 0, codec=self._dmx.GetNvCodecId(),
                                      cudacontext=primary_context(device.index or 0),
                                      cudastream=stream.cuda_stream,
                                      usedevicememory=True)

    def frames(self) -> Iterator[Any]:
        torch = self._torch
        while True:
            for packet in self._dmx:
                for f in self._dec.Decode(packet):
                    with torch.cuda.stream(self.stream):
                        nv12 = torch.from_dlpack(f).reshape(-1, self.width)[
                            : self.height * 3 // 2].clone()
                    self.stream.synchronize()  # the decoder may reuse the surface after this
                    yield nv12
            self._dmx = self._nvc.CreateDemuxer(filename=str(self.path))


class NvdecThreadedSource:
    """PyNvVideoCodec's ThreadedDecoder: decoding runs ahead on its own native thread into a
    small ring of surfaces; this thread takes finished frames a few at a time and copies them
    out. At the end of the clip the decoder is pointed at the clip again."""

    label = "nvdec (PyNvVideoCodec ThreadedDecoder, H.264 on NVDEC)"
    pixel_format = "nv12"
    take = 4  # frames per get_batch_frames call

    def __init__(self, path: Path, device: Any, stream: Any) -> None:
        import PyNvVideoCodec as nvc
        import torch

        self._nvc, self._torch = nvc, torch
        self.path, self.device, self.stream = path, device, stream
        dmx = nvc.CreateDemuxer(filename=str(path))
        self.width, self.height = dmx.Width(), dmx.Height()
        del dmx
        self._dec = self._open()

    def _open(self) -> Any:
        return self._nvc.ThreadedDecoder(
            str(self.path), buffer_size=4 * self.take, gpu_id=self.device.index or 0,
            cuda_context=primary_context(self.device.index or 0),
            cuda_stream=self.stream.cuda_stream, use_device_memory=True)

    def frames(self) -> Iterator[Any]:
        torch = self._torch
        rows = self.height * 3 // 2
        empty = 0
        while True:
            got = self._dec.get_batch_frames(self.take)
            if not got:
                empty += 1
                if empty > 2:
                    raise RuntimeError(f"ThreadedDecoder gives no frame from {self.path}")
                try:
                    self._dec.reconfigure_decoder(str(self.path))
                except Exception:  # an old PyNvVideoCodec: start a new decoder instead
                    self._dec.end()
                    self._dec = self._open()
                continue
            empty = 0
            with torch.cuda.stream(self.stream):
                out = [torch.from_dlpack(f).reshape(-1, self.width)[:rows].clone() for f in got]
            self.stream.synchronize()  # the ring slots may be refilled after this
            yield from out


class GstSource:
    """GStreamer decodes the clip on the CPU into raw RGB on a pipe (the CPU tests' source)."""

    label = "gst (openh264dec on the CPU)"
    pixel_format = "rgb"

    def __init__(self, path: Path, width: int | None = None, height: int | None = None) -> None:
        exe = shutil.which("gst-launch-1.0")
        if exe is None:
            raise UserError("the gst source needs GStreamer (gst-launch-1.0)")
        self.path = path
        self.width, self.height = width or 1280, height or 720
        self._cmd = [exe, "-q", "filesrc", f"location={path}", "!", "qtdemux", "!", "h264parse",
                     "!", "openh264dec", "!", "videoscale", "!", "videoconvert", "!",
                     f"video/x-raw,format=RGB,width={self.width},height={self.height}", "!",
                     "fdsink", "fd=1"]

    def frames(self) -> Iterator[Any]:
        import torch

        size = self.width * self.height * 3
        while True:
            proc = subprocess.Popen(self._cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            assert proc.stdout is not None
            try:
                n = 0
                while True:
                    buf = proc.stdout.read(size)
                    if len(buf) < size:
                        break
                    n += 1
                    yield torch.from_numpy(np.frombuffer(buf, np.uint8).copy()).view(
                        self.height, self.width, 3)
            finally:
                proc.stdout.close()
                proc.kill()
                proc.wait()
            if n == 0:
                raise UserError(f"GStreamer decoded no frame from {self.path}")


class SyntheticSource:
    """Frames drawn on the device (a moving gradient, a bright block per stream): no decode."""

    label = "synthetic (frames made on the device; NOT decoded)"
    pixel_format = "rgb"

    def __init__(self, stream_index: int, device: Any, width: int = 1280,
                 height: int = 720) -> None:
        import torch

        self.device, self.width, self.height = device, width, height
        self.k = stream_index
        yy = torch.arange(height, device=device).view(-1, 1)
        xx = torch.arange(width, device=device).view(1, -1)
        self._base = torch.stack([(xx + yy) % 256, (2 * xx) % 256 + 0 * yy,
                                  (3 * yy) % 256 + 0 * xx], -1).to(torch.uint8)

    def frames(self) -> Iterator[Any]:
        import torch

        i = 0
        while True:
            f = torch.roll(self._base, shifts=(i * 3 + self.k * 50) % self.width, dims=1).clone()
            y0 = (i * 5 + self.k * 40) % (self.height - 80)
            x0 = (i * 7 + self.k * 90) % (self.width - 120)
            f[y0:y0 + 80, x0:x0 + 120] = 255
            i += 1
            yield f


def geometry(kind: str, width: int | None, height: int | None) -> tuple[int, int, str]:
    """(width, height, pixel format) of a source's frames, without starting a decoder."""
    if kind.startswith("nvdec"):
        import PyNvVideoCodec as nvc

        dmx = nvc.CreateDemuxer(filename=str(clip_for(0)))
        return dmx.Width(), dmx.Height(), "nv12"
    if kind in ("gst", "synthetic"):
        return width or 1280, height or 720, "rgb"
    raise UserError(f"unknown source {kind!r} (nvdec, nvdec-sync, gst, synthetic)")


def make_source(kind: str, stream_index: int, device: Any, cuda_stream: Any,
                width: int | None, height: int | None) -> Any:
    if kind == "nvdec":
        return NvdecThreadedSource(clip_for(stream_index), device, cuda_stream)
    if kind == "nvdec-sync":
        return NvdecSource(clip_for(stream_index), device, cuda_stream)
    if kind == "gst":
        return GstSource(clip_for(stream_index), width, height)
    if kind == "synthetic":
        return SyntheticSource(stream_index, device, width or 1280, height or 720)
    raise UserError(f"unknown source {kind!r} (nvdec, nvdec-sync, gst, synthetic)")
