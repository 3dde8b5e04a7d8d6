"""The comparison: every number of A beside B's, with the change and whether it counts.

Subjects are carried across by the element matching: an element, its queue, its drops and
the streaming thread it owns keep their pairing when B renamed them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipesight.compare import noise, prediction, values
from pipesight.compare.comparison import BottleneckMove, Change, Comparison, Row, SideInfo
from pipesight.compare.matching import Matching, match
from pipesight.compare.noise import Spread
from pipesight.compare.side import Side
from pipesight.compare.summary import sentence, status


def compare(a: Side, b: Side, margin_pct: float | None = None) -> Comparison:

    m = match(a.graph, b.graph)
    sa, sb = values.spreads(a.runs), values.spreads(b.runs)

    def change(metric: str, x: Spread | None, y: Spread | None) -> Change:
        if x is None or y is None:
            return Change(metric, x.mean if x else None, y.mean if y else None, None, None,
                          False)
        t = noise.threshold(metric, x, y, margin_pct)
        return Change(metric, x.mean, y.mean, t.value, t.basis,
                      abs(y.mean - x.mean) > t.value)

    def row(section: str, ka: str | None, kb: str | None) -> Row:
        ma = sa.get((section, ka), {}) if ka is not None else {}
        mb = sb.get((section, kb), {}) if kb is not None else {}
        r = Row(section, ka, kb)
        for metric in [*ma, *(x for x in mb if x not in ma)]:
            r.changes[metric] = change(metric, ma.get(metric), mb.get(metric))
        return r

    rows: list[Row] = []
    rows += _element_rows(m, row, sa, sb)
    _zero_drops(sa, sb, a, b, m)
    for section in ("sink", "queue", "drops", "latency"):
        rows += _rows(section, sa, sb, m.in_b, m.in_a, row)
    rows += _rows("path", sa, sb, lambda p: _path(p, m.in_b), lambda p: _path(p, m.in_a), row)
    # queues that dropped nothing on either side say nothing about drops
    rows = [r for r in rows if r.section != "drops" or any(
        (c.a or 0.0) > 0 or (c.b or 0.0) > 0 for c in r.changes.values())]
    owner_a, owner_b = _owners(a.verdict), _owners(b.verdict)
    rows += _rows("thread", sa, sb, lambda t: _thread_in_b(t, owner_a, owner_b, m),
                  lambda t: _thread_in_b(t, owner_b, owner_a, _Flipped(m)), row)
    rows += _rows("gpu", sa, sb, lambda k: k, lambda k: k, row)
    rows += sorted(_rows("nvtx", sa, sb, lambda k: k, lambda k: k, row),
                   key=lambda r: -_largest(r, "gpu_ms"))
    overall = row("overall", "", "")
    tp = overall.changes.get("throughput_fps") or Change("throughput_fps", None, None, None,
                                                         None, False)
    basis = "repeats" if a.repeats > 1 or b.repeats > 1 else "margin"
    c = Comparison(
        a=_info(a, tp.a), b=_info(b, tp.b), throughput=tp, bottleneck=_bottleneck(a, b, m),
        rows=rows,
        matching=m, noise_basis=basis, margins=noise.default_margins(margin_pct),
        notes=list(a.notes) + list(b.notes),
    )
    if not (a.graph.has_links and b.graph.has_links):
        c.notes.append("elements were matched by name and type only: a verdict.json has no "
                       "links (compare run directories to match by position in the graph)")
    c.prediction = prediction.check(a.verdict, b.verdict, m, tp.b)
    c.status = status(c)
    c.sentence = sentence(c)
    return c


def _info(s: Side, fps: float | None) -> SideInfo:
    """``fps``: the throughput compared (over repeats, their mean)."""
    return SideInfo(s.label, s.kind, s.repeats, fps,
                    values.window_s(s.verdict), dict(s.verdict.get("bottleneck") or {}),
                    s.trace is not None)


def _element_rows(m: Matching, row: Callable[[str, str | None, str | None], Row],
                  sa: dict, sb: dict) -> list[Row]:
    out = []
    for p in m.pairs:
        r = row("element", p.a, p.b)
        r.how, r.type_a, r.type_b = p.how, p.type_a, p.type_b
        out.append(r)
    for n in m.only_a:
        out.append(row("element", n, None))
    for n in m.only_b:
        out.append(row("element", None, n))
    # elements the verdicts list but the graphs did not (a verdict.json's names are all of it)
    known_a = {r.a for r in out} | set(m.only_a)
    known_b = {r.b for r in out} | set(m.only_b)
    for (sec, n) in sa:
        if sec == "element" and n not in known_a:
            out.append(row("element", n, None))
    for (sec, n) in sb:
        if sec == "element" and n not in known_b:
            out.append(row("element", None, n))
    out = [r for r in out if r.changes or r.a is None or r.b is None]
    out.sort(key=lambda r: -_largest(r, "thread_share_pct"))
    return out


def _zero_drops(sa: dict, sb: dict, a: Side, b: Side, m: Matching) -> None:
    """An element that dropped on one side and dropped nothing on the other shows 0 there, not
    a gap; a bin's report of its child's QoS drops (the tracer sees the message posted on
    each level) is left out where the graph tells bins from elements."""
    for spreads, side in ((sa, a), (sb, b)):
        if side.graph.has_links:
            for key in [k for k in spreads if k[0] == "drops" and k[1] not in side.graph.types]:
                del spreads[key]
    for src, dst, to_other, other in ((sa, sb, m.in_b, b), (sb, sa, m.in_a, a)):
        for sec, name in list(src):
            twin = to_other(name) if sec == "drops" else None
            if twin is not None and ("drops", twin) not in dst and twin in other.graph.types:
                dst[("drops", twin)] = {k: Spread((0.0,) * len(other.runs))
                                        for k in src[(sec, name)]}


def _largest(r: Row, metric: str) -> float:
    c = r.changes.get(metric)
    return 0.0 if c is None else max(c.a or 0.0, c.b or 0.0)


def _rows(section: str, sa: dict, sb: dict, to_b: Callable[[str], str | None],
          to_a: Callable[[str], str | None], row: Callable[[str, str | None, str | None], Row]
          ) -> list[Row]:
    ka = [k for s, k in sa if s == section]
    kb = [k for s, k in sb if s == section]
    set_b = set(kb)
    out, used_b = [], set()
    for k in ka:
        other = to_b(k)
        if other is None and k in set_b and to_a(k) in (None, k):
            other = k
        if other is not None and other in set_b and other not in used_b:
            out.append(row(section, k, other))
            used_b.add(other)
        else:
            out.append(row(section, k, None))
    out += [row(section, None, k) for k in kb if k not in used_b]
    return out


def _path(path: str, to_other: Callable[[str], str | None]) -> str | None:
    """A latency path "SRC -> SINK" with both ends named as the other side names them."""
    ends = path.split(" -> ")
    other = [to_other(e) for e in ends]
    return None if len(ends) != 2 or None in other else " -> ".join(other)  # type: ignore[arg-type]


def _owners(vd: dict[str, Any]) -> dict[str, str | None]:
    return {t["thread"]: t.get("owner") for t in vd.get("threads") or []
            if isinstance(t, dict) and isinstance(t.get("thread"), str)}


class _Flipped:
    """The matching seen from B's side."""

    def __init__(self, m: Matching) -> None:
        self.m = m

    def in_b(self, x: str | None) -> str | None:
        return self.m.in_a(x)


def _thread_in_b(t: str, own: dict[str, str | None], other: dict[str, str | None],
                 m: Matching | _Flipped) -> str | None:
    """The other side's thread owned by the element paired with this thread's owner."""
    o = own.get(t)
    ob = m.in_b(o) if o is not None else None
    if ob is not None:
        hit = [x for x, owner in other.items() if owner == ob]
        if len(hit) == 1:
            return hit[0]
    return None


def _bottleneck(a: Side, b: Side, m: Matching) -> BottleneckMove:
    ba = dict(a.verdict.get("bottleneck") or {})
    bb = dict(b.verdict.get("bottleneck") or {})
    ea, eb = ba.get("element"), bb.get("element")
    a_in_b, b_in_a = m.in_b(ea), m.in_a(eb)
    same_element = (ea is None and eb is None) or (a_in_b is not None and a_in_b == eb)
    moved = not (ba.get("kind") == bb.get("kind") and same_element)
    return BottleneckMove(ba, bb, a_in_b, b_in_a, moved)
