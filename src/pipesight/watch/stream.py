"""One traced process as `pipesight watch` sees it: its ring read as it is written, its
definitions and messages followed, and its records cut into intervals on the watch clock."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipesight.tracer.layout import RECORD
from pipesight.watch.calls import Carried, balance, close_all
from pipesight.watch.ring import RingReader, writer_alive
from pipesight.watch.tail import LineTail

# records that define the pipeline (kept while the process lives); everything else recurs
STRUCTURE = {"tracer", "clock", "element", "pad", "padparent", "parent", "link", "props"}
# recurring records kept only for the window they fall in
TIMED = {"state", "message", "eos", "clockmark"}


@dataclass
class Definitions:
    """What the process's rare records say, bounded: definitions as the tracer wrote them, the
    latest caps of each pad and properties of each element, and recurring records of the
    recent past only."""

    structure: list[dict[str, Any]] = field(default_factory=list)
    caps: dict[int, dict[str, Any]] = field(default_factory=dict)
    threads: dict[int, dict[str, Any]] = field(default_factory=dict)  # each tid's latest name
    props: dict[int, dict[str, Any]] = field(default_factory=dict)
    recent: deque = field(default_factory=deque)
    mono_offset: int | None = None  # CLOCK_MONOTONIC - tracer time, for this process
    last_n: int = 0
    lost: int = 0  # recurring records rotated away before they were read
    gone: dict[tuple[str, int], int] = field(default_factory=dict)  # (kind, id): ts finalized

    def add(self, d: dict[str, Any]) -> None:
        n = d.pop("n", None)
        if isinstance(n, int):
            if self.last_n and n > self.last_n + 1:
                self.lost += n - self.last_n - 1
            self.last_n = max(self.last_n, n)
        t = d.get("t")
        if t == "clock" and self.mono_offset is None:
            self.mono_offset = int(d["monotonic_ns"]) - int(d["ts"])
        if t == "caps":
            self.caps[int(d.get("pad", 0))] = d
        elif t == "thread":  # a pooled thread renamed for its next task: the latest name
            self.threads[int(d.get("tid", 0))] = d
        elif t == "props" and n is not None:  # a later reading: replaces the earlier one
            self.props[int(d.get("element", 0))] = d
        elif t in STRUCTURE:
            self.structure.append(d)
        elif t in TIMED:
            self.recent.append(d)
        elif t == "gone":
            for kind in ("element", "pad"):
                if isinstance(d.get(kind), int):
                    self.gone[(kind, d[kind])] = int(d.get("ts", 0))

    def forget_before(self, ts: int) -> None:
        while self.recent and int(self.recent[0].get("ts", 0)) < ts:
            self.recent.popleft()
        # an object's records all come before it is finalized: no window from ts on needs it
        done = [k for k, when in self.gone.items() if when < ts]
        if done:
            for k in done:
                del self.gone[k]
            self._forget({i for k, i in done if k == "element"}, {i for k, i in done if k == "pad"})

    def _forget(self, elements: set[int], pads: set[int]) -> None:
        def needed(d: dict[str, Any]) -> bool:
            t = d.get("t")
            if t == "element":
                return d.get("id") not in elements
            if t in ("pad", "padparent"):
                return d.get("id") not in pads
            if t == "link":
                return d.get("src") not in pads and d.get("sink") not in pads
            if t in ("parent", "props"):
                return d.get("element") not in elements
            return True

        self.structure = [d for d in self.structure if needed(d)]
        for e in elements:
            self.props.pop(e, None)
        for p in pads:
            self.caps.pop(p, None)

    def records_for(self, start_ts: int, end_ts: int) -> list[dict[str, Any]]:
        """The defs lines of a window: every definition, then the latest caps and properties,
        then the recurring records inside the window."""
        timed = [d for d in self.recent if start_ts <= int(d.get("ts", 0)) <= end_ts]
        return [*self.structure, *self.threads.values(), *self.props.values(),
                *self.caps.values(), *timed]


@dataclass
class Part:
    """One process's share of an interval."""

    pid: int
    records: np.ndarray  # ready for the reader: balanced per thread
    defs: list[dict[str, Any]]
    mono_offset: int
    lost: int
    incomplete: int
    lost_messages: int
    ended: bool


class ProcessStream:
    def __init__(self, events: Path, from_start: bool = True) -> None:
        self.events = events
        self.ring = RingReader(events, from_start=from_start)
        self.pid = self.ring.pid
        d = events.parent
        self.defs_tail = LineTail(d / f"defs-{self.pid}.jsonl")
        self.msgs_tail = LineTail(d / f"msgs-{self.pid}.jsonl", d / f"msgs-{self.pid}.1.jsonl")
        self.defs = Definitions()
        # (records, loss before them) in arrival order, not yet given to an interval
        self.pending: list[tuple[np.ndarray, bool]] = []
        self.carried: Carried = {}
        self.last_ts: dict[int, int] = {}
        self.lost = self.incomplete = 0  # since the last cut
        self._msgs_lost_reported = 0
        self.ended = False  # the writer is gone and everything it wrote was read

    def close(self) -> None:
        self.ring.close()
        self.defs_tail.close()
        self.msgs_tail.close()

    def poll(self) -> int:
        gone = not writer_alive(self.events)
        for d in self.defs_tail.poll():
            self.defs.add(d)
        for d in self.msgs_tail.poll():
            self.defs.add(d)
        p = self.ring.poll(writer_gone=gone)
        self.lost += p.lost
        self.incomplete += p.incomplete
        if p.records.shape[0] or p.lost:
            self.pending.append((p.records, p.lost > 0))
        # memory stays bounded if intervals are judged slower than records come: beyond two
        # rings' worth, the oldest pending records are dropped (and counted lost)
        while sum(r.shape[0] for r, _ in self.pending) > 2 * self.ring.slots \
                and len(self.pending) > 1:
            dropped, _ = self.pending.pop(0)
            self.lost += int(dropped.shape[0])
            recs, _gap = self.pending[0]
            self.pending[0] = (recs, True)
        if gone and self.ring.next >= self.ring.reserved():
            self.ended = True
        return int(p.records.shape[0])

    def cut(self, end_mono: int, start_mono: int) -> Part | None:
        """The records up to ``end_mono`` (CLOCK_MONOTONIC ns), with the open calls carried
        from before; what is later stays for the next interval."""
        off = self.defs.mono_offset
        if off is None:
            return None  # no clock record yet: nothing traced can be placed in time
        end_ts = end_mono - off
        fed_parts: list[np.ndarray] = []
        rest: list[tuple[np.ndarray, bool]] = []
        seg: list[np.ndarray] = []
        carried = self.carried

        def flush() -> None:
            nonlocal carried, seg
            if seg:
                fed, carried = balance(np.concatenate(seg), carried)
                fed_parts.append(fed)
                seg = []

        for recs, gap in self.pending:
            now = recs["ts"] <= end_ts
            if gap:
                flush()
                # calls open before the gap: closed where their thread was last seen
                fed_parts.append(close_all(carried, self.last_ts))
                carried = {}
            seg.append(recs[now])
            if not now.all():
                rest.append((recs[~now], False))
            if now.any():
                r = recs[now][::-1]
                tids, first = np.unique(r["tid"], return_index=True)
                self.last_ts.update(zip(tids.tolist(), r["ts"][first].tolist(), strict=True))
        flush()
        if not fed_parts:  # nothing new: the open calls alone
            fed_parts.append(balance(np.zeros(0, RECORD), carried)[0])
        self.pending = rest
        self.carried = carried
        # threads that ended long ago are forgotten
        recent = set(carried)
        for fed in fed_parts:
            recent.update(np.unique(fed["tid"]).tolist())
        self.last_ts = {t: v for t, v in self.last_ts.items() if t in recent}
        part = Part(self.pid, np.concatenate(fed_parts), self.defs.records_for(
            start_mono - off, end_ts), off, self.lost, self.incomplete,
            self.defs.lost - self._msgs_lost_reported, self.ended and not rest)
        self._msgs_lost_reported = self.defs.lost
        self.lost = self.incomplete = 0
        self.defs.forget_before(end_ts)
        return part
