"""Pairs A's elements with B's, so that a renamed, replaced or added element does not break
the comparison.

In order:
1. by name. Where both sides have links, a name pair whose neighbours (paired by name too)
   disagree on both sides is undone: the name moved to another place in the graph (GStreamer
   numbers elements of a factory in creation order, so adding a queue renames the others).
2. by position, repeated until nothing changes: an element's key is its type and its paired
   neighbours (with the neighbour's pad, so that a tee's branches stay apart); a key held by
   exactly one unpaired element on each side pairs them. When no key pairs anything, the same
   is tried without the type: one element replaced by another in the same place (but never a
   queue-like element, one that hands buffers to another thread, by one that does not).
3. by type: what is left and is the only unpaired element of its type on each side (with
   names alone, from a verdict.json, this is the only fallback).
Whatever stays unpaired exists on one side only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from pipesight.compare.graph import ElementGraph

How = str  # "name", "position", "type"


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    how: How
    type_a: str | None
    type_b: str | None

    @property
    def renamed(self) -> bool:
        return self.a != self.b

    @property
    def replaced(self) -> bool:
        return None not in (self.type_a, self.type_b) and self.type_a != self.type_b


@dataclass
class Matching:
    pairs: list[Pair] = field(default_factory=list)
    only_a: list[str] = field(default_factory=list)
    only_b: list[str] = field(default_factory=list)
    by_links: bool = False  # positions were used (both sides had links)

    def __post_init__(self) -> None:
        self._ab = {p.a: p for p in self.pairs}
        self._ba = {p.b: p for p in self.pairs}

    def in_b(self, a: str | None) -> str | None:
        p = self._ab.get(a) if a is not None else None
        return p.b if p else None

    def in_a(self, b: str | None) -> str | None:
        p = self._ba.get(b) if b is not None else None
        return p.a if p else None

    def pair_of_a(self, a: str) -> Pair | None:
        return self._ab.get(a)


class _State:
    def __init__(self, ga: ElementGraph, gb: ElementGraph) -> None:
        self.ga, self.gb = ga, gb
        self.ab: dict[str, str] = {}
        self.ba: dict[str, str] = {}
        self.how: dict[str, How] = {}

    def pair(self, a: str, b: str, how: How) -> None:
        self.ab[a], self.ba[b], self.how[a] = b, a, how

    def unpair(self, a: str) -> None:
        b = self.ab.pop(a)
        del self.ba[b]
        del self.how[a]

    def anchors_a(self, name: str, pads: bool = True) -> frozenset:
        """A's element's paired neighbours, named by A's names."""
        up = {("up", lk.src, lk.src_pad if pads else "") for lk in self.ga.upstream(name)
              if lk.src in self.ab}
        down = {("down", lk.sink, lk.sink_pad if pads else "")
                for lk in self.ga.downstream(name) if lk.sink in self.ab}
        return frozenset(up | down)

    def anchors_b(self, name: str, pads: bool = True) -> frozenset:
        """B's element's paired neighbours, named by A's names."""
        up = {("up", self.ba[lk.src], lk.src_pad if pads else "")
              for lk in self.gb.upstream(name) if lk.src in self.ba}
        down = {("down", self.ba[lk.sink], lk.sink_pad if pads else "")
                for lk in self.gb.downstream(name) if lk.sink in self.ba}
        return frozenset(up | down)


def match(ga: ElementGraph, gb: ElementGraph) -> Matching:
    s = _State(ga, gb)
    for n in ga.types:
        if n in gb.types:
            s.pair(n, n, "name")
    by_links = ga.has_links and gb.has_links
    if by_links:
        _undo_displaced_names(s)
    while _step(s, by_links):
        pass
    pairs = [Pair(a, b, s.how[a], ga.types.get(a), gb.types.get(b)) for a, b in s.ab.items()]
    return Matching(
        pairs=pairs,
        only_a=[n for n in ga.types if n not in s.ab],
        only_b=[n for n in gb.types if n not in s.ba],
        by_links=by_links,
    )


def _step(s: _State, by_links: bool) -> bool:
    """One round of pairing; True if it paired anything (positions may then anchor more)."""
    ga, gb = s.ga, s.gb
    if by_links:
        if _pair_unique(s, lambda n: (ga.types[n], s.anchors_a(n)),
                        lambda n: (gb.types[n], s.anchors_b(n)), "position", True):
            return True
        if _pair_unique(s, lambda n: (n in ga.handoff, s.anchors_a(n, pads=False)),
                        lambda n: (n in gb.handoff, s.anchors_b(n, pads=False)), "position",
                        True):
            return True
        if _pair_names_again(s):
            return True
    return _pair_unique(s, lambda n: ga.types[n], lambda n: gb.types[n], "type", False)


def _consistent(s: _State, a: str, b: str) -> bool:
    ka = {x[:2] for x in s.anchors_a(a, pads=False)}
    kb = {x[:2] for x in s.anchors_b(b, pads=False)}
    return not (ka and kb) or bool(ka & kb)


def _pair_names_again(s: _State) -> bool:
    """A name undone as displaced pairs again once its neighbours, paired since, agree."""
    found = False
    for n in s.ga.types:
        if n not in s.ab and n in s.gb.types and n not in s.ba and _consistent(s, n, n):
            s.pair(n, n, "name")
            found = True
    return found


def _undo_displaced_names(s: _State) -> None:
    wrong = [a for a, b in s.ab.items() if not _consistent(s, a, b)]
    for a in wrong:
        s.unpair(a)


def _pair_unique(s: _State, key_a: Callable[[str], Hashable], key_b: Callable[[str], Hashable],
                 how: How, need_anchor: bool) -> bool:
    """Pairs unpaired elements whose key is unique on both sides; True if any was paired."""
    free_a = [n for n in s.ga.types if n not in s.ab]
    free_b = [n for n in s.gb.types if n not in s.ba]
    if not free_a or not free_b:
        return False
    ka = {n: key_a(n) for n in free_a}
    kb = {n: key_b(n) for n in free_b}
    ca, cb = Counter(ka.values()), Counter(kb.values())
    by_key_b = {k: n for n, k in kb.items() if cb[k] == 1}
    found = False
    for n, k in ka.items():
        if ca[k] != 1 or k not in by_key_b:
            continue
        if (need_anchor and not _has_anchor(k)) or k is None:
            continue
        s.pair(n, by_key_b[k], how)
        found = True
    return found


def _has_anchor(key: Hashable) -> bool:
    """Position keys are (what the element is, its paired neighbours)."""
    return isinstance(key, tuple) and bool(key[1])
