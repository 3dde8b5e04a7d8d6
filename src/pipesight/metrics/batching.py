"""Frames, not buffers, where buffers carry batches.

A batching element (DeepStream's nvstreammux, the GPU lab's batcher) says so with a
``batch-size`` property, takes one frame per buffer on its sink pads and pushes one buffer per
batch. (Elements that merge inputs into new frames, such as compositor or a muxer, have no such
property and are not batchers: their output buffer is the frame.) Counting the buffers entering its
sink pads against those leaving it gives the frames each downstream buffer carries, exactly,
without reading any DeepStream metadata (NvDsBatchMeta's layout differs between versions).
An element that says it batches (a ``batch-size`` property above 1) but whose input the
trace did not see leaves the unit unknown: rates downstream stay in buffers, and say so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics.window import Window
from pipesight.trace import Trace

MIN_RATIO = 1.5  # buffers in per buffer out, below which an element does not batch
MIN_OUT = 3  # batches needed in the window to measure the ratio


@dataclass
class Batcher:
    element: int
    name: str
    frames_in: int  # buffers on its sink pads in the window (one frame each)
    batches_out: int
    sink_pads: int  # sink pads that received buffers
    batch_size: int | None  # its batch-size property, where it has one

    @property
    def frames_per_buffer(self) -> float | None:
        if self.batches_out < MIN_OUT or not self.frames_in:
            return None
        return self.frames_in / self.batches_out


def batchers(trace: Trace, w: Window) -> list[Batcher]:
    fl = trace.flow
    inw = w.contains(fl.ts)
    out: list[Batcher] = []
    topo = trace.topology
    for e in topo.leaf_elements():
        if e.probe_of is not None:
            continue
        bs = e.props.get("batch-size")
        declared = isinstance(bs, int) and not isinstance(bs, bool) and bs > 1
        into = inw & (fl.dst_element == e.id)
        n_in = int(fl.count[into].sum())
        n_out = int(fl.count[inw & (fl.src_element == e.id)].sum())
        pads = int(np.unique(fl.peer[into & (fl.mode == 0)]).shape[0]) if n_in else 0
        ratio = n_in / n_out if n_out else 0.0
        if declared and (ratio >= MIN_RATIO or not n_in):
            out.append(Batcher(e.id, e.name, n_in, n_out, pads, bs if declared else None))
    return out


def frames_per_buffer(trace: Trace, w: Window, sink: int, up: dict[int, set[int]],
                      found: list[Batcher]) -> tuple[float | None, str]:
    """Frames each buffer carries into ``sink``, and the unit its rate is counted in: 1 frame
    per buffer where no batching element is upstream; the batcher's measured ratio where one
    is; ``buffers`` where one is but its input was not seen."""
    mine = [b for b in found if _reaches(up, b.element, sink)]
    if not mine:
        return 1.0, "frames"
    fpb = [b.frames_per_buffer for b in mine]
    if any(f is None for f in fpb):
        return None, "buffers"
    prod = 1.0
    for f in fpb:
        prod *= f or 1.0
    return prod, "frames"


def _reaches(up: dict[int, set[int]], a: int, b: int) -> bool:
    """Whether buffers leaving a reach b (b's upstream closure holds a)."""
    seen, stack = set(), [b]
    while stack:
        x = stack.pop()
        for p in up.get(x, ()):
            if p == a:
                return True
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return False
