"""Frames per second at sinks, sources and pads, over the window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics.batching import batchers, frames_per_buffer
from pipesight.metrics.media import AudioRate, audio_rate, count_point, media_kind, pad_caps
from pipesight.metrics.window import Window, sink_elements, source_elements
from pipesight.trace import Trace


@dataclass
class Rate:
    element: int
    name: str
    frames: int  # inside the window (buffers where ``unit`` is "buffers")
    fps: float
    media: str | None  # "video", "audio", ... from caps, when known
    sources: tuple[int, ...] = ()  # source elements upstream
    buffers: int | None = None  # buffers, where each carries a batch of frames
    # "buffers" where batches of an unknown size arrive, or audio (blocks of samples)
    unit: str = "frames"
    # where the rate was counted when not at the sink: the muxer's input pad (PAD label)
    counted_at: str | None = None
    sink_buffers: int | None = None  # what the sink itself received there (container pieces)
    audio: AudioRate | None = None  # audio: samples per second and against real time


def upstream_map(trace: Trace) -> dict[int, set[int]]:
    """element -> elements directly upstream, from links and from observed buffer flow."""
    fl = trace.flow
    up: dict[int, set[int]] = {}
    for a, b in trace.topology.element_edges():
        up.setdefault(b, set()).add(a)
    m = (fl.src_element >= 0) & (fl.dst_element >= 0)
    if m.any():
        keys = np.unique(fl.src_element[m].astype(np.int64) << 32 | fl.dst_element[m])
        for k in keys.tolist():
            up.setdefault(k & 0xFFFFFFFF, set()).add(k >> 32)
    return up


def upstream_sources(up: dict[int, set[int]], eid: int, sources: set[int]) -> set[int]:
    seen: set[int] = set()
    stack = [eid]
    found: set[int] = set()
    while stack:
        x = stack.pop()
        for p in up.get(x, ()):
            if p in seen:
                continue
            seen.add(p)
            if p in sources:
                found.add(p)
            stack.append(p)
    return found


def _incoming_media(trace: Trace, eid: int) -> str | None:
    for p in trace.topology.element_pads(eid, "sink"):
        m = media_kind(p.caps)
        if m:
            return m
    return None


MIN_WINDOW_S = 0.05  # shorter than this, a rate means nothing


def sink_rates(trace: Trace, w: Window) -> list[Rate]:
    """Each sink's rate over the window (however short: `rates_to_trust` says when a rate
    means something)."""
    fl = trace.flow
    inw = w.contains(fl.ts)
    sources = set(source_elements(trace))
    up = upstream_map(trace)
    found = batchers(trace, w)
    out = []
    secs = max(w.seconds, 1e-9)
    for s in sink_elements(trace):
        point = count_point(trace, s)
        n = int(fl.count[inw & point.mask(trace)].sum())
        fpb, unit = frames_per_buffer(trace, w, point.element, up, found)
        frames = round(n * fpb) if fpb is not None else n
        media = (_incoming_media(trace, s) or media_kind(point.caps)) if point.at_sink else \
            media_kind(pad_caps(trace, point.pad))
        audio = audio_rate(trace, w, point) if media == "audio" else None
        out.append(
            Rate(
                element=s,
                name=trace.topology.name(s),
                frames=frames,
                fps=frames / secs,
                media=media,
                sources=tuple(sorted(upstream_sources(up, s, sources))),
                buffers=n if fpb != 1.0 else None,
                unit="buffers" if media == "audio" else unit,
                counted_at=None if point.at_sink else trace.topology.pad_label(point.pad),
                sink_buffers=None if point.at_sink else
                int(fl.count[inw & (fl.dst_element == s)].sum()),
                audio=audio,
            )
        )
    return out


def source_rates(trace: Trace, w: Window) -> list[Rate]:
    fl = trace.flow
    inw = w.contains(fl.ts)
    secs = max(w.seconds, 1e-9)
    out = []
    for s in source_elements(trace):
        n = int(fl.count[inw & (fl.src_element == s)].sum())
        media = None
        for p in trace.topology.element_pads(s, "src"):
            media = media or media_kind(p.caps)
        out.append(Rate(s, trace.topology.name(s), n, n / secs, media, (s,)))
    return out


def rates_to_trust(sinks: list[Rate], w: Window) -> list[Rate]:
    return sinks if w.seconds >= MIN_WINDOW_S else []


def counted_buffers(sinks: list[Rate]) -> tuple[int, str | None]:
    """The buffers the window holds where the pipeline's rate is counted (the busiest such
    pad, so that a side branch's sparse output does not decide), and where."""
    best = max(counted_sinks(sinks), key=lambda s: s.buffers if s.buffers is not None
               else s.frames, default=None)
    if best is None:
        return 0, None
    return (best.buffers if best.buffers is not None else best.frames,
            best.counted_at or best.name)


def counted_sinks(sinks: list[Rate]) -> list[Rate]:
    """The sinks the pipeline's rate is counted at: where some sinks take video, the others
    (audio, metadata) are left out."""
    return [s for s in sinks if s.media in ("video", "image")] or sinks


def pipeline_fps(sinks: list[Rate]) -> float | None:
    """Frames per second of the pipeline: sinks fed by the same sources count once (a tee's
    branches carry the same frames), sinks of different sources add up."""
    if not sinks:
        return None
    groups: dict[tuple[int, ...], float] = {}
    for s in counted_sinks(sinks):
        groups[s.sources] = max(groups.get(s.sources, 0.0), s.fps)
    return float(sum(groups.values()))


def pipeline_audio(sinks: list[Rate]) -> AudioRate | None:
    """An audio pipeline's rate in samples and against real time: of the sinks it is counted
    at, the slowest against real time (each stream has to keep up on its own)."""
    rates = [s.audio for s in counted_sinks(sinks) if s.audio is not None]
    return min(rates, key=lambda a: a.realtime_factor) if rates else None


def nominal_fps(trace: Trace, eid: int) -> float | None:
    """The framerate an element's output caps declare (0/1 or absent: None)."""
    for p in trace.topology.element_pads(eid, "src") + trace.topology.element_pads(eid, "sink"):
        if p.caps and "framerate=" in p.caps:
            frag = p.caps.split("framerate=", 1)[1]
            frag = frag.split(")", 1)[-1] if frag.startswith("(") else frag
            num_den = frag.split(",", 1)[0].split(";", 1)[0].strip()
            try:
                num, den = num_den.split("/")
                n, d = int(num), int(den)
                if n > 0 and d > 0:
                    return n / d
            except ValueError:
                continue
    return None


def timeline(trace: Trace, w: Window, eid: int, bins: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Frames per second into an element over time: (bin centre seconds, fps)."""
    fl = trace.flow
    sel = w.contains(fl.ts) & (fl.dst_element == eid)
    edges = np.linspace(w.start, w.end, bins + 1)
    counts, _ = np.histogram(fl.ts[sel], bins=edges, weights=fl.count[sel])
    width = max((w.end - w.start) / bins / 1e9, 1e-9)
    centres = (edges[:-1] + edges[1:]) / 2 / 1e9
    return centres, counts / width
