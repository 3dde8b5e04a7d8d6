"""PipelineGraph -> Graphviz DOT text.

Every string from a user's pipeline (names, types, caps) reaches Graphviz only inside a quoted
label, escaped here: backslashes and quotes so that it cannot end the string or start a
Graphviz escape (\\N, \\G, \\l, ...), '&' so that Graphviz does not read an entity, and control
characters replaced. Identifiers, ids and classes are our own (e12, cluster_b3).
"""

from __future__ import annotations

import re
from collections import defaultdict

from pipesight.render.graph_costs import BOTTLENECK_COLOUR
from pipesight.render.pipeline_graph import GCluster, PipelineGraph

_CTRL = re.compile(r"[\x00-\x1f\x7f]")
FONT = "Helvetica,Arial,sans-serif"


def quote(text: str) -> str:
    """A DOT double-quoted string whose Graphviz label shows ``text`` verbatim."""
    s = _CTRL.sub("\ufffd", text)
    s = s.replace("\\", "\\\\").replace('"', '\\"').replace("&", "&amp;")
    return f'"{s}"'


def quote_lines(lines: list[str], left: bool = False) -> str:
    """A multi-line label, centred (or left-justified): each line escaped, joined by
    Graphviz's line breaks."""
    sep = "\\l" if left else "\\n"
    return '"' + sep.join(quote(x)[1:-1] for x in lines) + (sep if left else "") + '"'


def to_dot(g: PipelineGraph, id_prefix: str = "") -> str:
    """``id_prefix`` keeps the SVG ids of several graphs in one page apart."""
    out = [
        "digraph pipeline {",
        f"  rankdir={g.rankdir}; newrank=true; compound=true;",
        "  nodesep=0.2; ranksep=0.35; pad=0.2;",
        f'  fontname="{FONT}"; fontsize=12; labelloc=t; labeljust=l;',
        f"  label={quote_lines([g.title, *g.notes], left=True)};",
        f'  node [shape=box, style="rounded,filled", fontname="{FONT}", fontsize=10, '
        'margin="0.12,0.05", penwidth=1, color="#555555"];',
        f'  edge [fontname="{FONT}", fontsize=8, color="#666666", arrowsize=0.6];',
    ]
    children: dict[str | None, list[GCluster]] = defaultdict(list)
    for c in g.clusters:
        children[c.parent].append(c)
    nodes_in: dict[str | None, list[str]] = defaultdict(list)
    for n in g.nodes:
        attrs = {
            "id": f"{id_prefix}node-{n.id}",
            "class": " ".join(["el"] + (["bottleneck"] if n.bottleneck else [])
                              + (["queue"] if n.queue else [])
                              + (["folded"] if n.folded > 1 else [])),
            "label": quote_lines(n.lines),
            "fillcolor": f'"{n.fill}"',
            "fontcolor": f'"{n.fontcolor}"',
        }
        if n.queue:
            attrs["style"] = '"filled"'
            attrs["shape"] = "box"
        if n.folded > 1:
            attrs["peripheries"] = "2"
        if n.bottleneck:
            attrs["color"] = f'"{BOTTLENECK_COLOUR}"'
            attrs["penwidth"] = "4"
        nodes_in[n.cluster].append(f"{n.id} [{_attrs(attrs)}];")

    def emit(parent: str | None, indent: str) -> None:
        for line in nodes_in.get(parent, []):
            out.append(indent + line)
        for c in children.get(parent, []):
            out.append(f"{indent}subgraph {c.id} {{")
            out.append(f'{indent}  id="{id_prefix}{c.id}"; label={quote(c.label)}; fontsize=10; '
                       'style="rounded,filled"; fillcolor="#f4f4f4"; color="#aaaaaa";')
            emit(c.id, indent + "  ")
            out.append(f"{indent}}}")

    emit(None, "  ")
    for e in g.edges:
        attrs = {"id": f'"{id_prefix}edge-{e.src}-{e.dst}"'}
        if e.label:
            attrs["label"] = quote(e.label)
        if e.folded > 1:
            attrs["penwidth"] = "2.5"
        out.append(f"  {e.src} -> {e.dst} [{_attrs(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def _attrs(a: dict[str, str]) -> str:
    return ", ".join(f"{k}={v if v.startswith(chr(34)) else chr(34) + v + chr(34)}"
                     for k, v in a.items())
