"""What a sink's buffers stand for, read from caps: frames of video, blocks of audio samples,
or pieces of a container file. A muxer writes its file in pieces (ogg pages, MP4 chunks, a
header, an index at the end) whose count says nothing about the media; so a sink fed a
container is counted where the media still arrive one unit per buffer: at the muxer's input.

Audio is measured in samples and against real time: raw audio's samples from its bytes and
format (exact), encoded audio's from the span of its timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics.window import Window
from pipesight.trace import Trace

# caps names of container formats, as muxers declare their output (a caps name is a format,
# not an element's name: no element is recognised by what it is called)
CONTAINERS = frozenset({
    "video/quicktime", "application/ogg", "audio/ogg", "video/ogg", "video/x-matroska",
    "audio/x-matroska", "video/webm", "audio/webm", "video/mpegts", "video/x-msvideo",
    "video/x-flv", "application/mxf", "audio/x-wav", "audio/x-aiff", "video/x-ms-asf",
    "application/x-3gp", "audio/x-m4a", "video/mj2", "image/mj2",
})
_SAMPLE_BYTES = {"8": 1, "16": 2, "18": 3, "20": 3, "24": 3, "24_32": 4, "32": 4, "64": 8}
_MAX_CLIMB = 8  # elements between a sink and the muxer whose container it receives


def caps_name(caps: str | None) -> str | None:
    if not caps:
        return None
    head = caps.split(",", 1)[0].split("(", 1)[0].strip()
    return head or None


def media_kind(caps: str | None) -> str | None:
    """"video", "audio", "image", ... from the caps' name."""
    name = caps_name(caps)
    return name.split("/", 1)[0] if name and "/" in name else None


def is_container(caps: str | None) -> bool:
    return caps_name(caps) in CONTAINERS


def caps_field(caps: str | None, key: str) -> str | None:
    """The first structure's value of ``key`` (``rate=(int)44100`` gives "44100")."""
    if not caps:
        return None
    first = caps.split(";", 1)[0]
    for part in first.split(",")[1:]:
        k, _, v = part.partition("=")
        if k.strip() == key:
            v = v.strip()
            if v.startswith("("):
                v = v.split(")", 1)[-1]
            return v.strip().strip('"') or None
    return None


def _int(s: str | None) -> int | None:
    try:
        return int(s) if s is not None else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AudioFormat:
    rate: int  # samples per second per channel
    channels: int | None
    bytes_per_frame: int | None  # raw audio only: one sample of every channel


def audio_format(caps: str | None) -> AudioFormat | None:
    if media_kind(caps) != "audio" or is_container(caps):
        return None
    rate = _int(caps_field(caps, "rate"))
    if not rate or rate <= 0:
        return None
    channels = _int(caps_field(caps, "channels"))
    bpf = None
    fmt = caps_field(caps, "format")
    if caps_name(caps) == "audio/x-raw" and fmt and channels:
        # S16LE, F32LE, U24_32BE, ...: the width is the digits after the type letter
        width = fmt[1:].rstrip("LEB").rstrip("_")
        if fmt[:1] in "SUF" and width in _SAMPLE_BYTES:
            bpf = _SAMPLE_BYTES[width] * channels
    return AudioFormat(rate, channels, bpf)


def pads_into(trace: Trace, eid: int) -> list[int]:
    """The src pads that pushed buffers into ``eid``."""
    fl = trace.flow
    sel = (fl.dst_element == eid) & (fl.mode == 0)
    return [int(p) for p in np.unique(fl.pad[sel]).tolist()]


def pad_caps(trace: Trace, pad: int) -> str | None:
    p = trace.topology.pads.get(pad)
    return p.caps if p is not None else None


@dataclass(frozen=True)
class CountPoint:
    """Where a sink's rate is counted: the buffers pushed through ``pad`` into ``element`` (the
    sink itself, pad -1 meaning all its input; or the muxer feeding it a container)."""

    sink: int
    element: int
    pad: int
    caps: str | None

    @property
    def at_sink(self) -> bool:
        return self.element == self.sink

    def mask(self, trace: Trace) -> np.ndarray:
        fl = trace.flow
        sel = fl.dst_element == self.element
        return sel & (fl.pad == self.pad) if self.pad >= 0 else sel


def count_point(trace: Trace, sink: int) -> CountPoint:
    into = pads_into(trace, sink)
    caps = next((c for c in (pad_caps(trace, p) for p in into) if c), None)
    if not is_container(caps):
        return CountPoint(sink, sink, -1, caps)
    eid = sink
    for _ in range(_MAX_CLIMB):
        ups = {trace.topology.pads[p].element for p in into if p in trace.topology.pads}
        ups.discard(None)
        if len(ups) != 1:
            break
        eid = int(ups.pop())  # type: ignore[arg-type]
        into = pads_into(trace, eid)
        streams = [(p, pad_caps(trace, p)) for p in into]
        if streams and not any(is_container(c) for _, c in streams):
            return CountPoint(sink, eid, _main_stream(trace, eid, streams), caps)
    return CountPoint(sink, sink, -1, caps)


def _main_stream(trace: Trace, eid: int, streams: list[tuple[int, str | None]]) -> int:
    """Of a muxer's inputs, the one a rate is counted on: video before audio before the rest,
    then the one with most buffers."""
    fl = trace.flow
    rank = {"video": 0, "image": 0, "audio": 1}

    def key(s: tuple[int, str | None]) -> tuple[int, int]:
        n = int(fl.count[(fl.dst_element == eid) & (fl.pad == s[0])].sum())
        return rank.get(media_kind(s[1]) or "", 2), -n
    return min(streams, key=key)[0]


@dataclass(frozen=True)
class AudioRate:
    rate_hz: int
    samples_per_s: float  # per channel
    realtime_factor: float  # seconds of audio per second of wall time
    basis: str  # "bytes" (raw audio: exact) or "timestamps"


def audio_rate(trace: Trace, w: Window, point: CountPoint) -> AudioRate | None:
    fmt = audio_format(point.caps if point.at_sink or point.pad < 0
                       else pad_caps(trace, point.pad))
    if fmt is None or w.seconds <= 0:
        return None
    fl = trace.flow
    sel = point.mask(trace) & w.contains(fl.ts)
    if not sel.any():
        return None
    if fmt.bytes_per_frame:
        media_s = float(fl.size[sel].sum()) / fmt.bytes_per_frame / fmt.rate
        basis = "bytes"
    else:
        pts = np.sort(fl.pts[sel & (fl.pts >= 0)])
        if pts.shape[0] < 2:
            return None
        # the span of the timestamps, and the last buffer's own length (its step)
        media_s = float(pts[-1] - pts[0] + np.median(np.diff(pts))) / 1e9
        basis = "timestamps"
    return AudioRate(fmt.rate, media_s * fmt.rate / w.seconds, media_s / w.seconds, basis)
