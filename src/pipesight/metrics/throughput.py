"""Frames per second at sinks, sources and pads, over the window."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics.batching import batchers, frames_per_buffer
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
    unit: str = "frames"  # "buffers" where batches of an unknown size arrive


def _media(caps: str | None) -> str | None:
    if not caps:
        return None
    head = caps.split(",", 1)[0].split("(", 1)[0].strip()
    return head.split("/", 1)[0] if "/" in head else None


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
        m = _media(p.caps)
        if m:
            return m
    return None


MIN_WINDOW_S = 0.05  # shorter than this, a rate means nothing


def sink_rates(trace: Trace, w: Window) -> list[Rate]:
    if w.seconds < MIN_WINDOW_S:
        return []
    fl = trace.flow
    inw = w.contains(fl.ts)
    sources = set(source_elements(trace))
    up = upstream_map(trace)
    found = batchers(trace, w)
    out = []
    secs = max(w.seconds, 1e-9)
    for s in sink_elements(trace):
        n = int(fl.count[inw & (fl.dst_element == s)].sum())
        fpb, unit = frames_per_buffer(trace, w, s, up, found)
        frames = round(n * fpb) if fpb is not None else n
        out.append(
            Rate(
                element=s,
                name=trace.topology.name(s),
                frames=frames,
                fps=frames / secs,
                media=_incoming_media(trace, s),
                sources=tuple(sorted(upstream_sources(up, s, sources))),
                buffers=n if fpb != 1.0 else None,
                unit=unit,
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
            media = media or _media(p.caps)
        out.append(Rate(s, trace.topology.name(s), n, n / secs, media, (s,)))
    return out


def pipeline_fps(sinks: list[Rate]) -> float | None:
    """Frames per second of the pipeline: sinks fed by the same sources count once (a tee's
    branches carry the same frames), sinks of different sources add up. Where some sinks take
    video, the others (audio, metadata) are left out."""
    if not sinks:
        return None
    chosen = [s for s in sinks if s.media in ("video", "image")] or sinks
    groups: dict[tuple[int, ...], float] = {}
    for s in chosen:
        groups[s.sources] = max(groups.get(s.sources, 0.0), s.fps)
    return float(sum(groups.values()))


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
