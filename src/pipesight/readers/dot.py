"""Reader for GStreamer pipeline graphs (GST_DEBUG_DUMP_DOT_DIR dumps, any version): elements
with their type, state and non-default properties, bins, pads (ghost and proxy pads marked),
links and the caps negotiated on each link."""

from __future__ import annotations

import re
from pathlib import Path

from pipesight.errors import UserError
from pipesight.trace import Element, Pad, Topology
from pipesight.trace.topology import DotGraph

_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<arrow>->)|(?P<punct>[{}\[\];,=])|'
    r"(?P<id>[A-Za-z0-9_.:#<>\-+]+)|(?P<comment>//[^\n]*|/\*.*?\*/))",
    re.S,
)
_PTR = re.compile(r"_(0x[0-9a-fA-F]+)$")
_SINK_COLOURS = {"#aaaaff", "#ddddff"}
_SRC_COLOURS = {"#ffaaaa", "#ffdddd"}
_GHOST_COLOURS = {"#ddddff", "#ffdddd"}


def _unquote(s: str) -> str:
    if s.startswith('"') and s.endswith('"'):
        s = s[1:-1]
    return s.replace('\\"', '"')


def _tokens(text: str) -> list[tuple[str, str]]:
    out = []
    pos = 0
    n = len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            # a character the grammar does not know: skip it rather than fail
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup
        if kind == "comment" or kind is None:
            continue
        out.append((kind, m.group(kind)))
    return out


def _attrs(toks: list[tuple[str, str]], i: int) -> tuple[dict[str, str], int]:
    """Parse '[ k=v, k=v ]' starting at toks[i] == '['."""
    attrs: dict[str, str] = {}
    i += 1
    while i < len(toks) and toks[i][1] != "]":
        if i + 2 < len(toks) and toks[i + 1][1] == "=":
            attrs[_unquote(toks[i][1])] = _unquote(toks[i + 2][1])
            i += 3
        else:
            i += 1
        if i < len(toks) and toks[i][1] in (",", ";"):
            i += 1
    return attrs, i + 1


def caps_from_label(label: str) -> str:
    """Caps from an edge label: 'video/x-raw\\l  format: NV12\\l' -> 'video/x-raw, format=NV12'"""
    lines = [ln.strip() for ln in label.replace("\\l", "\n").replace("\\n", "\n").split("\n")]
    lines = [ln for ln in lines if ln]
    if not lines:
        return ""
    out = [lines[0]]
    for ln in lines[1:]:
        if ":" in ln:
            k, v = ln.split(":", 1)
            out.append(f"{k.strip()}={v.strip()}")
        else:
            out.append(ln)
    return ", ".join(out)


def _element_label(label: str) -> tuple[str | None, str, str | None, dict[str, str]]:
    parts = label.split("\\n")
    if len(parts) < 2:
        return None, label, None, {}
    typ = parts[0].strip("<>") or None
    name = parts[1]
    state = parts[2] if len(parts) > 2 and parts[2].startswith("[") else None
    props: dict[str, str] = {}
    for p in parts[3 if state else 2:]:
        if "=" in p:
            k, v = p.split("=", 1)
            props[k.strip()] = v.strip()
    return typ, name, state, props


def parse(text: str) -> DotGraph:
    toks = _tokens(text)
    if not toks or toks[0][1] not in ("digraph", "graph", "strict"):
        raise UserError("not a Graphviz DOT graph (it does not start with 'digraph')")
    p = _Parser(toks)
    p.statements()
    p.finish()
    return p.g


class _Parser:
    """GStreamer's dumps nest a cluster per element (and one per pad side of it), a node per
    pad, and an edge per link (dashed between a ghost pad and its internal proxy pad)."""

    def __init__(self, toks: list[tuple[str, str]]) -> None:
        self.toks = toks
        self.topo = Topology()
        self.g = DotGraph(self.topo)
        # stack of (cluster id, element id or None, pad-direction hint)
        self.stack: list[tuple[str, int | None, str | None]] = [("", None, None)]
        self.pads_by_node: dict[str, int] = {}
        self.edges: list[tuple[str, str, dict[str, str]]] = []
        self.pending_label: dict[int, bool] = {}

    def at(self, i: int, what: int = 1) -> str:
        return self.toks[i][what] if i < len(self.toks) else ""

    def statements(self) -> None:
        toks, n = self.toks, len(self.toks)
        i = 0
        while i < n and toks[i][1] != "{":  # skip 'digraph NAME {'
            i += 1
        i += 1
        while i < n:
            kind, val = toks[i]
            if val == "}":
                if len(self.stack) > 1:
                    self.stack.pop()
                i += 1
            elif val == "subgraph":
                i = self.subgraph(i)
            elif kind in ("id", "str") and self.at(i + 1) == "=":
                i = self.attribute(i)
            elif kind in ("id", "str") and self.at(i + 1, 0) == "arrow":
                i = self.edge(i)
            elif kind in ("id", "str") and self.at(i + 1) == "[":
                i = self.node(i)
            else:
                i += 1

    def subgraph(self, i: int) -> int:
        cid = self.at(i + 1)
        i += 2
        if self.at(i) == "{":
            i += 1
        stack, topo = self.stack, self.topo
        parent_el = next((s[1] for s in reversed(stack) if s[1] is not None), None)
        parent_cluster = stack[-1][0]
        if parent_cluster and cid in (parent_cluster + "_sink", parent_cluster + "_src"):
            stack.append((cid, None, "sink" if cid.endswith("_sink") else "src"))
        else:
            eid = len(topo.elements) + 1
            m = _PTR.search(cid)
            topo.add_element(Element(id=eid, name=cid, parent=parent_el,
                                     key=m.group(1) if m else None))
            self.g.cluster_of_element[eid] = cid
            self.pending_label[eid] = True
            stack.append((cid, eid, None))
        return i

    def attribute(self, i: int) -> int:
        """A graph attribute, key = value: a cluster's label names its element."""
        key, value = _unquote(self.at(i)), _unquote(self.at(i + 2))
        eid = self.stack[-1][1]
        if key == "label":
            if eid is not None and self.pending_label.get(eid):
                typ, name, state, props = _element_label(value)
                e = self.topo.elements[eid]
                e.type, e.name, e.props = typ, name, dict(props)
                if state:
                    self.g.states[eid] = state
                self.pending_label[eid] = False
            elif len(self.stack) == 1:
                _typ, name, state, _ = _element_label(value)
                self.g.pipeline_name, self.g.pipeline_state = name, state
        i += 3
        return i + 1 if self.at(i) == ";" else i

    def edge(self, i: int) -> int:
        a, b = _unquote(self.at(i)), _unquote(self.at(i + 2))
        i += 3
        attrs: dict[str, str] = {}
        if self.at(i) == "[":
            attrs, i = _attrs(self.toks, i)
        self.edges.append((a, b, attrs))
        return i

    def node(self, i: int) -> int:
        """A node is a pad (coloured by direction; proxy pads named so)."""
        node = _unquote(self.at(i))
        attrs, i = _attrs(self.toks, i + 1)
        if node in ("node", "edge", "graph", "legend"):
            return i
        owner = next((s for s in reversed(self.stack) if s[1] is not None), None)
        colour = attrs.get("fillcolor", "").lower()
        direction = self.stack[-1][2] or ("sink" if colour in _SINK_COLOURS else
                                          "src" if colour in _SRC_COLOURS else "unknown")
        label = attrs.get("label", "")
        pname = label.split("\\n", 1)[0] if label else node
        pid = len(self.topo.pads) + 1
        is_proxy = node.startswith("_proxypad") or pname.startswith("proxypad")
        self.topo.add_pad(Pad(
            id=pid, name=pname, direction=direction,
            element=None if is_proxy or owner is None else owner[1],
            ghost=colour in _GHOST_COLOURS and not is_proxy, proxy=is_proxy,
        ))
        self.pads_by_node[node] = pid
        self.g.node_of_pad[pid] = node
        return i

    def finish(self) -> None:
        """Bins (elements with children), links and the caps on them, ghost pads' proxies."""
        topo, g = self.topo, self.g
        for e in topo.elements.values():
            e.is_bin = any(x.parent == e.id for x in topo.elements.values())
        for a, b, attrs in self.edges:
            pa, pb = self.pads_by_node.get(a), self.pads_by_node.get(b)
            if pa is None or pb is None or attrs.get("style") == "invis":
                continue
            if attrs.get("style") == "dashed":
                # a ghost pad and its internal proxy pad
                ghost, proxy = (pa, pb) if topo.pads[pb].proxy else (pb, pa)
                if topo.pads[proxy].proxy:
                    topo.pads[proxy].parent_pad = ghost
                continue
            topo.add_link(pa, pb)
            caps_label = attrs.get("label", "").strip()
            if not caps_label or caps_label.startswith(" " * 8):
                caps_label = attrs.get("taillabel") or attrs.get("headlabel") or ""
            caps = caps_from_label(caps_label)
            if caps:
                g.link_caps[(pa, pb)] = caps
                topo.pads[pa].caps = caps
                topo.pads[pb].caps = (caps_from_label(attrs["headlabel"])
                                      if attrs.get("headlabel") else caps)


def read(path: Path) -> DotGraph:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    if not text.strip():
        raise UserError(f"{path}: the file is empty")
    try:
        return parse(text)
    except UserError as e:
        raise UserError(f"{path}: {e}") from None


def looks_like_dot(head: bytes) -> bool:
    h = head.lstrip()[:200]
    return h.startswith(b"digraph") or h.startswith(b"strict digraph")
