"""A tee (or any element that copies one stream to several src pads) whose branches meet again
in a muxer or mixer without a queue on them: the classic deadlock. The tee pushes to its
branches one after the other from one streaming thread; the muxer (a GstAggregator or
GstCollectPads) holds the buffer that arrived on one sink pad until its other sink pads have
data too, and that data can only come from the same thread, which it is holding.

Read from a pipeline graph (a DOT dump) and the calls the stuck thread was inside."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipesight.trace import Topology

QUEUE_TYPES = {"GstQueue", "GstQueue2", "GstMultiQueue"}
MAX_CHAIN = 64


@dataclass
class Branch:
    pad: str  # the tee's src pad, "t.src_0"
    chain: list[str]  # elements from the tee's pad to the muxer, both excluded
    into: str  # the muxer's sink pad it reaches, "mux.video_0"


@dataclass
class TeeIntoMuxer:
    tee: str
    muxer: str
    branches: list[Branch]  # the branches that reach the muxer with no queue on them


def find(topo: Topology, tee: str, muxer: str) -> TeeIntoMuxer | None:
    """The branches of ``tee`` that reach ``muxer`` with no queue on the way; None unless
    there are two or more."""
    t, m = topo.by_name(tee), topo.by_name(muxer)
    if t is None or m is None:
        return None
    peer = dict(topo.pad_edges())
    out: list[Branch] = []
    for pad in sorted(topo.element_pads(t.id, "src"), key=lambda p: p.name):
        b = _follow(topo, peer, pad.id, m.id)
        if b is not None:
            out.append(Branch(f"{tee}.{pad.name}", *b))
    return TeeIntoMuxer(tee, muxer, out) if len(out) >= 2 else None


def _follow(topo: Topology, peer: dict[int, int], src_pad: int, target: int
            ) -> tuple[list[str], str] | None:
    """Down one branch, one element at a time, while each element has one src pad: the
    elements passed and the target's sink pad, or None at a queue, a fork or a dead end."""
    chain: list[str] = []
    pad = src_pad
    for _ in range(MAX_CHAIN):
        sink = peer.get(pad)
        if sink is None:
            return None
        e = topo.element(topo.pads[sink].element)
        if e is None:
            return None
        if e.id == target:
            return chain, topo.pad_label(sink)
        if (e.type or "") in QUEUE_TYPES or (e.factory or "") in ("queue", "queue2",
                                                                   "multiqueue"):
            return None
        srcs = topo.element_pads(e.id, "src")
        if len(srcs) != 1:
            return None
        chain.append(e.name)
        pad = srcs[0].id
    return None


def words(found: TeeIntoMuxer, held_pad: str | None,
          factory_of: Callable[[str], str | None]) -> tuple[str, str, str]:
    """Title, detail and fix for the finding; ``factory_of`` names an element's factory for
    the gst-launch-1.0 example."""
    n = len(found.branches)
    title = (f"The pipeline hung: {found.tee} feeds {found.muxer} on {n} branches with no "
             f"queue, so {found.muxer} waits for data that the thread it holds would push")
    paths = "; ".join(" -> ".join([b.pad, *b.chain, b.into]) for b in found.branches)
    waiting = [b.into for b in found.branches if b.into != held_pad]
    detail = (f"{found.tee} pushes each buffer to its branches one after the other, all from "
              f"one streaming thread ({paths}). {found.muxer} is a muxer or mixer: it holds "
              f"the buffer that arrived on {held_pad or 'one sink pad'} until "
              f"{', '.join(waiting) or 'its other sink pads'} has data too, but that data can "
              f"only come from the same thread, which {found.muxer} is holding. Neither side "
              "can move: a deadlock, before the first buffer is written.")
    example = "  ".join(" ! ".join([f"{found.tee}.", "queue",
                                    *[factory_of(c) or c for c in b.chain], f"{found.muxer}."])
                        for b in found.branches)
    fix = (f"Put a queue at the head of each branch of {found.tee}, so that each branch runs "
           f"on its own thread and {found.muxer} can wait on one input while the others move: "
           f"{example}")
    return title, detail, fix
