"""Topology: elements, pads, links and bins, as GStreamer names them."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Element:
    id: int
    name: str
    type: str | None = None  # GType name, e.g. GstQueue
    factory: str | None = None  # factory name, e.g. queue
    parent: int | None = None  # id of the enclosing bin
    is_bin: bool = False
    is_sink: bool | None = None  # None: the input did not say
    is_source: bool | None = None
    props: dict[str, Any] = field(default_factory=dict)
    key: str | None = None  # an input-specific identity (pointer), e.g. for latency records
    # a pseudo-element standing for the application's probes on this pad: their time is
    # measured apart from the elements' own (pipesight's tracer, format 3)
    probe_of: int | None = None


@dataclass
class Pad:
    id: int
    name: str
    direction: str  # "src", "sink" or "unknown"
    element: int | None = None  # parent element id; None for a ghost pad's internal pad
    parent_pad: int | None = None  # the ghost pad owning this internal (proxy) pad
    ghost: bool = False
    proxy: bool = False
    caps: str | None = None  # last negotiated caps seen on the pad


@dataclass(frozen=True)
class Link:
    src: int  # pad id
    sink: int  # pad id


class Topology:
    def __init__(self) -> None:
        self.elements: dict[int, Element] = {}
        self.pads: dict[int, Pad] = {}
        self.links: list[Link] = []
        self._by_name: dict[str, int] | None = None

    # -- building -------------------------------------------------------
    def add_element(self, e: Element) -> None:
        self.elements[e.id] = e
        self._by_name = None

    def add_pad(self, p: Pad) -> None:
        self.pads[p.id] = p

    def add_probe_element(self, pad_id: int, eid: int) -> Element:
        """The pseudo-element for the probes on ``pad_id``, named ``probe@ELEMENT.PAD``."""
        e = Element(id=eid, name=f"probe@{self.pad_label(pad_id)}", type="pad-probe",
                    is_sink=False, is_source=False, probe_of=pad_id)
        self.add_element(e)
        return e

    def is_probe(self, eid: int | None) -> bool:
        e = self.element(eid)
        return e is not None and e.probe_of is not None

    def add_link(self, src: int, sink: int) -> None:
        # a pad has one peer: a relink replaces the earlier link
        self.links = [lk for lk in self.links if lk.src != src and lk.sink != sink]
        self.links.append(Link(src, sink))

    # -- questions ------------------------------------------------------
    def element(self, eid: int | None) -> Element | None:
        return None if eid is None else self.elements.get(eid)

    def by_name(self, name: str) -> Element | None:
        if self._by_name is None:
            self._by_name = {}
            for e in self.elements.values():
                self._by_name.setdefault(e.name, e.id)
        eid = self._by_name.get(name)
        return None if eid is None else self.elements[eid]

    def name(self, eid: int | None) -> str:
        e = self.element(eid)
        return e.name if e else "?"

    def processing_element(self, pad_id: int) -> int | None:
        """The element that does work on buffers crossing this pad, or None where the pad
        only forwards (a ghost pad of a bin, or a ghost pad's internal proxy pad)."""
        p = self.pads.get(pad_id)
        if p is None or p.element is None or p.parent_pad is not None:
            return None
        e = self.elements.get(p.element)
        if e is None or e.is_bin:
            return None
        return e.id

    def pad_label(self, pad_id: int) -> str:
        p = self.pads.get(pad_id)
        if p is None:
            return f"pad{pad_id}"
        if p.element is not None:
            return f"{self.name(p.element)}.{p.name}"
        if p.parent_pad is not None:
            return f"{self.pad_label(p.parent_pad)}(internal)"
        return p.name

    def element_pads(self, eid: int, direction: str | None = None) -> list[Pad]:
        return [
            p
            for p in self.pads.values()
            if p.element == eid and (direction is None or p.direction == direction)
        ]

    def leaf_elements(self) -> Iterator[Element]:
        return (e for e in self.elements.values() if not e.is_bin)

    def ancestors(self, eid: int) -> list[int]:
        out: list[int] = []
        e = self.elements.get(eid)
        seen: set[int] = set()
        # a parent the trace never defined (a damaged or cut definitions file) ends the chain
        while e is not None and e.parent in self.elements and e.parent not in seen:
            seen.add(e.parent)
            out.append(e.parent)
            e = self.elements.get(e.parent)
        return out

    def element_edges(self) -> set[tuple[int, int]]:
        """Links between processing elements, seen through ghost and proxy pads."""
        edges: set[tuple[int, int]] = set()
        for a, b in self.pad_edges():
            ea, eb = self.pads[a].element, self.pads[b].element
            if ea is not None and eb is not None:
                edges.add((ea, eb))
        return edges

    def pad_edges(self) -> set[tuple[int, int]]:
        """Links between processing elements' own pads (src pad, sink pad), seen through
        ghost and proxy pads."""
        peer_of = {lk.src: lk.sink for lk in self.links}
        # a ghost pad forwards to its internal pad's peer (and the reverse for src ghosts)
        internal_of: dict[int, int] = {}
        for p in self.pads.values():
            if p.parent_pad is not None:
                internal_of[p.parent_pad] = p.id
        edges: set[tuple[int, int]] = set()
        for lk in self.links:
            if self.processing_element(lk.src) is None:
                continue
            for x in self._follow_downstream(lk.sink, peer_of, internal_of, 0):
                edges.add((lk.src, x))
        return edges

    def _follow_downstream(
        self, pad_id: int, peer_of: dict[int, int], internal_of: dict[int, int], depth: int
    ) -> Iterable[int]:
        """The processing element's sink pad a buffer entering ``pad_id`` ends up at."""
        if depth > 16:
            return []
        if self.processing_element(pad_id) is not None:
            return [pad_id]
        p = self.pads.get(pad_id)
        if p is None:
            return []
        nxt: int | None = None
        if p.ghost and pad_id in internal_of:  # sink ghost pad -> internal src proxy
            nxt = peer_of.get(internal_of[pad_id])
        elif p.parent_pad is not None:  # internal pad of a src ghost pad -> ghost's peer
            nxt = peer_of.get(p.parent_pad)
        if nxt is None:
            return []
        return self._follow_downstream(nxt, peer_of, internal_of, depth + 1)


@dataclass
class DotGraph:
    """A pipeline graph as GStreamer dumped it (GST_DEBUG_DUMP_DOT_DIR): its topology, the
    state of each element and the caps negotiated on each link."""

    topology: Topology
    pipeline_name: str | None = None
    pipeline_state: str | None = None
    states: dict[int, str] = field(default_factory=dict)  # element id -> "[>]" etc.
    link_caps: dict[tuple[int, int], str] = field(default_factory=dict)  # (src pad, sink pad)
    node_of_pad: dict[int, str] = field(default_factory=dict)  # pad id -> DOT node id
    cluster_of_element: dict[int, str] = field(default_factory=dict)
