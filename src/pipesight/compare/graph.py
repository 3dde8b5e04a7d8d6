"""One side's elements as names, types and links: what the matching works on.

A trace's topology gives the links (through ghost and proxy pads, with the pad names at each
end); a verdict.json alone gives only the names and types of the elements it lists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipesight.trace import Topology


@dataclass(frozen=True)
class Link:
    src: str  # upstream element
    src_pad: str
    sink: str  # downstream element
    sink_pad: str


@dataclass
class ElementGraph:
    types: dict[str, str | None] = field(default_factory=dict)  # name -> factory (or type)
    links: list[Link] = field(default_factory=list)
    has_links: bool = False  # False: names only (a verdict.json), position cannot be used
    # elements that hand buffers to another streaming thread (the verdict's queues): one is
    # never taken for a replacement of an element that does not
    handoff: set[str] = field(default_factory=set)
    duplicate_names: list[str] = field(default_factory=list)

    def upstream(self, name: str) -> list[Link]:
        return [lk for lk in self.links if lk.sink == name]

    def downstream(self, name: str) -> list[Link]:
        return [lk for lk in self.links if lk.src == name]

    @classmethod
    def from_topology(cls, topo: Topology, vd: dict[str, Any]) -> ElementGraph:
        g = cls(has_links=True, handoff=_handoff(vd))
        first: dict[int, str] = {}
        for e in topo.leaf_elements():
            if e.name in g.types:
                # verdict rows carry bare names too: the first element keeps the name
                g.duplicate_names.append(e.name)
                continue
            g.types[e.name] = e.factory or e.type
            first[e.id] = e.name
        for a, b in sorted(topo.pad_edges()):
            pa, pb = topo.pads[a], topo.pads[b]
            if pa.element in first and pb.element in first:
                g.links.append(Link(first[pa.element], pa.name, first[pb.element], pb.name))
        return g

    @classmethod
    def from_verdict(cls, vd: dict[str, Any]) -> ElementGraph:
        g = cls(has_links=False, handoff=_handoff(vd))
        for r in vd.get("elements") or []:
            if isinstance(r, dict) and isinstance(r.get("name"), str):
                t = r.get("type")
                g.types.setdefault(r["name"], t if isinstance(t, str) else None)
        for q in vd.get("queues") or []:
            if isinstance(q, dict) and isinstance(q.get("element"), str):
                g.types.setdefault(q["element"], None)
        b = (vd.get("bottleneck") or {}).get("element")
        if isinstance(b, str):
            g.types.setdefault(b, None)
        return g


def _handoff(vd: dict[str, Any]) -> set[str]:
    return {q["element"] for q in vd.get("queues") or []
            if isinstance(q, dict) and isinstance(q.get("element"), str)}
