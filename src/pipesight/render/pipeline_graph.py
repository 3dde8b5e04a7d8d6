"""The pipeline graph users look at: one box per element (pads hidden, bins as clusters, the
caps of each link kept for a tooltip), coloured by cost when a verdict is at hand.

Large pipelines stay legible: unlinked request pads become a count in the element's tooltip,
and many identical branches leaving one element (a demuxer or tee feeding N copies of the same
chain) are folded into one branch marked "×N" — the costliest copy is the one kept in view.
This module builds plain data; dot_writer turns it into Graphviz input.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from pipesight.render.graph_costs import (
    GraphCosts,
    cost_colour,
    fill_colour,
    text_colour,
)
from pipesight.trace import Element, Topology

FOLD_MIN = 4  # this many identical branches from one element are folded into one
MAX_CHAIN = 32
NAME_CHARS = 40
EDGE_LABELS_UP_TO = 60  # edges; more and the short caps labels are left to the tooltips
LONG_CHAIN = 12  # elements in a row; longer pipelines are laid out top to bottom
MAX_PROPS = 24
PROP_CHARS = 160
QUEUE_TYPES = {"GstQueue", "GstQueue2", "GstMultiQueue", "queue", "queue2", "multiqueue"}


@dataclass
class GNode:
    id: str  # our own identifier, safe in DOT and SVG
    element: int
    name: str
    lines: list[str]  # label lines (user text: escaped by the writer)
    tooltip: str
    fill: str
    fontcolor: str
    cluster: str | None
    bottleneck: bool = False
    queue: bool = False
    folded: int = 1  # > 1: stands for this many identical branches


@dataclass
class GEdge:
    src: str
    dst: str
    label: str
    tooltip: str
    folded: int = 1


@dataclass
class GCluster:
    id: str
    element: int
    parent: str | None
    label: str
    tooltip: str


@dataclass
class PipelineGraph:
    title: str
    nodes: list[GNode] = field(default_factory=list)
    edges: list[GEdge] = field(default_factory=list)
    clusters: list[GCluster] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    coloured: bool = False
    rankdir: str = "LR"  # long chains read better top to bottom
    folded_into: dict[int, int] = field(default_factory=dict)  # hidden element -> shown one
    names: dict[int, str] = field(default_factory=dict)  # hidden element -> its name

    def tooltips(self) -> dict[str, str]:
        """Graphviz <title> text (our ids) -> the text to show on hover instead."""
        out = {n.id: n.tooltip for n in self.nodes}
        out.update({f"{e.src}->{e.dst}": e.tooltip for e in self.edges})
        out.update({c.id: c.tooltip for c in self.clusters})
        return out

    def node_for(self, name: str) -> GNode | None:
        return next((n for n in self.nodes if n.name == name), None)


def build_graph(
    topo: Topology,
    *,
    title: str = "pipeline",
    costs: GraphCosts | None = None,
    link_caps: dict[tuple[int, int], str] | None = None,
    states: dict[int, str] | None = None,
    fold: bool = True,
) -> PipelineGraph:
    g = PipelineGraph(title=title, coloured=costs is not None and bool(costs.elements))
    leaves = {e.id: e for e in topo.leaf_elements()}
    # a top-level bin wraps everything (the pipeline itself): draw it only beside another
    top_bins = [e for e in topo.elements.values() if e.is_bin and e.parent is None]
    skip_bins = {e.id for e in top_bins} if len(top_bins) == 1 else set()

    # edges between leaf elements, parallel links merged
    caps_of: dict[tuple[int, int], list[tuple[str, str]]] = defaultdict(list)
    for sp, kp in sorted(topo.pad_edges()):
        a, b = topo.pads[sp].element, topo.pads[kp].element
        if a not in leaves or b not in leaves:
            continue
        caps = (link_caps or {}).get((sp, kp)) or topo.pads[sp].caps or topo.pads[kp].caps
        caps_of[(a, b)].append((
            f"{topo.pad_label(sp)} → {topo.pad_label(kp)}\n{caps or 'caps not recorded'}",
            summarise_caps(caps) if caps else ""))
    out_adj: dict[int, list[int]] = defaultdict(list)
    in_adj: dict[int, list[int]] = defaultdict(list)
    for a, b in caps_of:
        out_adj[a].append(b)
        in_adj[b].append(a)

    folded_into: dict[int, int] = {}  # hidden element -> the element standing for it
    group_size: dict[int, int] = {}
    group_members: dict[int, list[int]] = {}
    if fold:
        _fold(leaves, out_adj, in_adj, costs, folded_into, group_size, group_members, g)

    linked_pads = {lk.src for lk in topo.links} | {lk.sink for lk in topo.links}
    for eid, e in sorted(leaves.items()):
        if eid in folded_into:
            continue
        g.nodes.append(_node(topo, e, costs, states, linked_pads, group_size.get(eid, 1),
                             [leaves[m] for m in group_members.get(eid, [])]))
    visible = {n.element for n in g.nodes}
    g.folded_into = folded_into
    g.names = {h: leaves[h].name for h in folded_into}

    short_labels = len(caps_of) <= EDGE_LABELS_UP_TO
    # a caps label only where the caps change: the same caps on every link of a chain is noise
    into: dict[int, set[str]] = defaultdict(set)
    for (_, b), parts in caps_of.items():
        into[b].update(lbl for _, lbl in parts)
    for (a, b), parts in caps_of.items():
        if a not in visible or b not in visible:
            continue
        n = max(group_size.get(a, 1), group_size.get(b, 1)) if (
            a in group_size) != (b in group_size) else 1
        label = parts[0][1] if short_labels else ""
        if label and into.get(a) == {label}:
            label = ""
        if n > 1:
            label = f"×{n}" + (f" {label}" if label else "")
        g.edges.append(GEdge(_nid(a), _nid(b), label, "\n\n".join(t for t, _ in parts),
                             folded=n))

    _clusters(topo, g, skip_bins)
    if _longest_path(g) > LONG_CHAIN:
        g.rankdir = "TB"
    return g


def _longest_path(g: PipelineGraph) -> int:
    out: dict[str, list[str]] = defaultdict(list)
    indeg: dict[str, int] = {n.id: 0 for n in g.nodes}
    for e in g.edges:
        out[e.src].append(e.dst)
        indeg[e.dst] = indeg.get(e.dst, 0) + 1
    depth = {n: 1 for n in indeg}
    ready = [n for n, d in indeg.items() if d == 0]
    while ready:  # Kahn's order; nodes on a cycle keep depth 1
        n = ready.pop()
        for m in out[n]:
            depth[m] = max(depth[m], depth[n] + 1)
            indeg[m] -= 1
            if indeg[m] == 0:
                ready.append(m)
    return max(depth.values(), default=0)


def _nid(eid: int) -> str:
    return f"e{eid}"


def _cid(eid: int) -> str:
    return f"cluster_b{eid}"


def kind_of(e: Element) -> str:
    return e.factory or e.type or "?"


def _is_queue(e: Element) -> bool:
    return (e.factory or "") in QUEUE_TYPES or (e.type or "") in QUEUE_TYPES


def short(s: str, n: int = NAME_CHARS) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def _node(topo: Topology, e: Element, costs: GraphCosts | None, states: dict[int, str] | None,
          linked_pads: set[int], folded: int, members: list[Element]) -> GNode:
    lines = [short(e.name), short(kind_of(e))]
    tip = [e.name, f"type: {e.type or '?'}" + (f" (factory {e.factory})" if e.factory else "")]
    state = (states or {}).get(e.id)
    if state:
        lines[1] += f" {state}"
        tip.append(f"state: {state}")
    fill, queue, bottleneck = "#ffffff", _is_queue(e), False
    if costs is not None:
        fill = _cost_lines(e, costs, lines, tip, members)
        bottleneck = costs.bottleneck is not None and (
            costs.bottleneck == e.name or any(m.name == costs.bottleneck for m in members))
        if bottleneck:
            lines.insert(0, "BOTTLENECK")
            tip.insert(1, f"the bottleneck ({costs.bottleneck_kind}, {costs.confidence})")
    if folded > 1:
        lines.append(f"×{folded} alike")
        names = [m.name for m in members]
        tip.append(f"stands for {folded} identical branches: " + ", ".join(
            short(x, 60) for x in names[:12]) + (f", … {len(names) - 12} more" if len(names) > 12
                                                 else ""))
    pads = topo.element_pads(e.id)
    unlinked = [p for p in pads if p.id not in linked_pads]
    if unlinked:
        by_dir: dict[str, int] = defaultdict(int)
        for p in unlinked:
            by_dir[p.direction] += 1
        tip.append("unlinked pads: " + ", ".join(f"{n} {d}" for d, n in sorted(by_dir.items())))
        if len(unlinked) >= FOLD_MIN:
            lines.append(f"+{len(unlinked)} unlinked pads")
    props = [(k, v) for k, v in e.props.items() if k != "parent"][:MAX_PROPS]
    if props:
        tip.append("properties:")
        tip.extend(f"  {k} = {short(str(v), PROP_CHARS)}" for k, v in props)
        if len(e.props) > MAX_PROPS:
            tip.append(f"  … {len(e.props) - MAX_PROPS} more")
    return GNode(
        id=_nid(e.id), element=e.id, name=e.name, lines=lines, tooltip="\n".join(tip), fill=fill,
        fontcolor=text_colour(fill), cluster=None, bottleneck=bottleneck, queue=queue,
        folded=folded,
    )


def _cost_lines(e: Element, costs: GraphCosts, lines: list[str], tip: list[str],
                members: list[Element]) -> str:
    qs = [(costs.queues.get(x.name), x.name) for x in [e, *members]]
    qs = [(q, n) for q, n in qs if q is not None]
    if qs:
        # a folded branch shows its fullest copy
        q, who = max(qs, key=lambda r: r[0].mean_fill or 0.0)
        if members:
            tip.append(f"fullest copy: {who}")
        if q.mean_fill is not None:
            lines.append(f"fill {100 * q.mean_fill:.0f}%"
                         + (f", full {q.full_pct:.0f}% of time" if q.full_pct else ""))
        elif q.mean_level_buffers is not None:
            lines.append(f"mean {q.mean_level_buffers:.1f} buffers")
        tip.append(f"queue: mean fill {_pct(q.mean_fill)}, full {_num(q.full_pct, '%')} and "
                   f"empty {_num(q.empty_pct, '%')} of the time, mean level "
                   f"{_num(q.mean_level_buffers, ' buffers')}"
                   + (f" of {q.max_buffers}" if q.max_buffers else ""))
        return fill_colour(q.mean_fill)
    # a folded branch shows its costliest copy's cost
    rows = [(costs.elements.get(x.name), x.name) for x in [e, *members]]
    rows = [(c, n) for c, n in rows if c is not None]
    if not rows:
        tip.append("no buffers seen in the analysed window")
        return "#ffffff" if not costs.elements else cost_colour(None)
    c, who = max(rows, key=lambda r: r[0].share or 0.0)
    parts = []
    if c.share is not None:
        parts.append(f"{100 * c.share:.0f}% of {short(c.thread or '?', 24)}")
    if c.ms_per_buffer is not None:
        parts.append(f"{c.ms_per_buffer:.2f} ms/buf")
    if parts:
        lines.append(" · ".join(parts) + (" (max)" if members else ""))
    tip.append(("costliest copy: " + who + "; " if members else "")
               + f"share of thread {short(c.thread or '?', 60)}: {_pct(c.share)}, "
               f"{_num(c.ms_per_buffer, ' ms')} per buffer (p99 {_num(c.p99_ms, ' ms')}), "
               f"{_num(c.fps, ' fps')}")
    return cost_colour(c.share)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _num(x: float | None, unit: str) -> str:
    return "n/a" if x is None else f"{x:.3g}{unit}"


def _fold(leaves: dict[int, Element], out_adj: dict[int, list[int]],
          in_adj: dict[int, list[int]], costs: GraphCosts | None, folded_into: dict[int, int],
          group_size: dict[int, int], group_members: dict[int, list[int]],
          g: PipelineGraph) -> None:
    for x in sorted(out_adj):
        kids = out_adj[x]
        if len(kids) < FOLD_MIN or x in folded_into:
            continue
        groups: dict[tuple, list[list[int]]] = defaultdict(list)
        for k in kids:
            chain = _chain(k, out_adj, in_adj)
            if chain is None:
                continue
            tail = out_adj.get(chain[-1], [])
            sig = (tuple(kind_of(leaves[c]) for c in chain), tuple(sorted(tail)))
            groups[sig].append(chain)
        for chains in groups.values():
            if len(chains) < FOLD_MIN:
                continue
            chains.sort(key=lambda ch: _natural(leaves[ch[0]].name))
            keep = max(chains, key=lambda ch: _chain_cost(ch, leaves, costs))
            for pos, rep in enumerate(keep):
                group_size[rep] = len(chains)
                group_members[rep] = [ch[pos] for ch in chains if ch is not keep]
                for ch in chains:
                    if ch is not keep:
                        folded_into[ch[pos]] = rep
            g.notes.append(f"{len(chains)} identical branches after {leaves[x].name} are drawn "
                           f"as one (the costliest, starting at {leaves[keep[0]].name})")


def _chain(start: int, out_adj: dict[int, list[int]], in_adj: dict[int, list[int]]
           ) -> list[int] | None:
    """The run of one-in/one-out elements from ``start``; None if ``start`` has other inputs."""
    if len(in_adj.get(start, [])) != 1:
        return None
    chain = [start]
    cur = start
    while len(chain) < MAX_CHAIN:
        nxt = out_adj.get(cur, [])
        if len(nxt) != 1 or len(in_adj.get(nxt[0], [])) != 1 or nxt[0] in chain:
            break
        cur = nxt[0]
        chain.append(cur)
    return chain


def _chain_cost(chain: list[int], leaves: dict[int, Element], costs: GraphCosts | None
                ) -> tuple[int, float]:
    if costs is None:
        return (0, 0.0)
    names = [leaves[c].name for c in chain]
    has_b = int(costs.bottleneck in names)
    return has_b, max(((costs.elements.get(n) or _ZERO).share or 0.0) for n in names)


class _Zero:
    share = 0.0


_ZERO: Any = _Zero()


def _natural(s: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def _clusters(topo: Topology, g: PipelineGraph, skip_bins: set[int]) -> None:
    """Bins holding a visible element become clusters (nested as the bins are)."""
    needed: set[int] = set()
    for n in g.nodes:
        anc = [a for a in topo.ancestors(n.element) if a not in skip_bins]
        n.cluster = _cid(anc[0]) if anc else None
        needed.update(anc)
    for b in sorted(needed):
        e = topo.elements[b]
        parent = next((a for a in topo.ancestors(b) if a not in skip_bins), None)
        g.clusters.append(GCluster(
            id=_cid(b), element=b, parent=_cid(parent) if parent is not None else None,
            label=f"{short(e.name)} ({short(kind_of(e), 30)})",
            tooltip=f"bin {e.name}\ntype: {e.type or '?'}",
        ))


_FIELD = re.compile(r"\b(format|width|height|rate|stream-format)=(?:\([a-z]+\))?\s*"
                    r"(\{[^}]*\}|\[[^\]]*\]|[^,;]+)")
_TYPED = re.compile(r"\([a-z]+\)")


def summarise_caps(caps: str) -> str:
    """'video/x-raw, format=(string)NV12, width=(int)1280, height=(int)720, …' ->
    'video/x-raw NV12 1280x720' (lists shortened, ranges left out)."""
    head = caps.split(",", 1)[0].strip()
    f = {k: _TYPED.sub("", v).strip() for k, v in _FIELD.findall(caps)}
    parts = [head]
    fmt = f.get("format") or f.get("stream-format")
    if fmt:
        if fmt.startswith("{"):
            items = [x.strip() for x in fmt.strip("{} ").split(",") if x.strip()]
            fmt = "|".join(items[:3]) + ("|…" if len(items) > 3 else "")
        parts.append(fmt)
    if f.get("width", "").isdigit() and f.get("height", "").isdigit():
        parts.append(f"{f['width']}x{f['height']}")
    if f.get("rate", "").isdigit():
        parts.append(f"{f['rate']} Hz")
    return short(" ".join(parts), 48)
