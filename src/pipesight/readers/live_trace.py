"""What the tracer's files say while the run goes on, for the progress line: buffers per second
into the sinks and the element taking most of a streaming thread, from the records added since
the last look. Reads only completed records (format 3's sequence numbers) and whole JSON lines;
the analysis proper reads the files again at the end."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipesight.readers import pipesight_trace as pt
from pipesight.tracer import layout

MAX_RECORDS = 200_000  # per look: the busiest element is judged on the latest ones only


@dataclass
class Progress:
    elapsed_s: float
    sink_rate: float | None  # buffers per second into sink elements; None before any sink
    busiest: str | None = None  # element name
    busiest_share: float | None = None  # of its thread's time in the interval
    busiest_thread: str | None = None
    processes: int = 0


@dataclass
class _File:
    events: Path
    defs: Path
    pid: int
    consumed: int = 0  # records
    defs_at: int = 0  # bytes
    defs_list: list[dict[str, Any]] = field(default_factory=list)
    sink_pads: set[int] = field(default_factory=set)
    sinks: set[int] = field(default_factory=set)
    pad_element: dict[int, int] = field(default_factory=dict)


class LiveTrace:
    def __init__(self, trace_dir: Path) -> None:
        self.dir = trace_dir
        self.start = time.monotonic()
        self.last = self.start
        self.files: dict[int, _File] = {}

    def poll(self) -> Progress:
        now = time.monotonic()
        span = max(now - self.last, 1e-3)
        self.last = now
        into_sinks = 0
        seen_sink = False
        best: tuple[float, str, str] | None = None
        for pid, ev, defs in pt.find_processes(self.dir):
            f = self.files.setdefault(pid, _File(ev, defs, pid))
            self._read_defs(f)
            recs = self._read_events(f)
            seen_sink = seen_sink or bool(f.sink_pads)
            if recs is None or not recs.shape[0]:
                continue
            push = np.isin(recs["kind"], (layout.PUSH_PRE, layout.LIST_PRE))
            to_sink = push & np.isin(recs["peer"], list(f.sink_pads))
            into_sinks += int(recs["count"][to_sink].clip(min=1).sum())
            cand = self._busiest(f, recs[-MAX_RECORDS:], span)
            if cand is not None and (best is None or cand[0] > best[0]):
                best = cand
        p = Progress(now - self.start, into_sinks / span if seen_sink else None,
                     processes=len(self.files))
        if best is not None:
            p.busiest_share, p.busiest, p.busiest_thread = best
        return p

    def _read_defs(self, f: _File) -> None:
        try:
            with open(f.defs, "rb") as fh:
                fh.seek(f.defs_at)
                data = fh.read()
        except OSError:
            return
        end = data.rfind(b"\n") + 1  # whole lines only: the tracer may be mid-line
        f.defs_at += end
        for line in data[:end].splitlines():
            try:
                d = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            if not isinstance(d, dict):
                continue
            f.defs_list.append(d)
            t = d.get("t")
            try:
                if t == "element" and d.get("is_sink"):
                    f.sinks.add(int(d["id"]))
                elif t == "pad" and d.get("element"):
                    f.pad_element[int(d["id"])] = int(d["element"])
            except (KeyError, TypeError, ValueError):
                continue
        f.sink_pads = {p for p, e in f.pad_element.items() if e in f.sinks}

    def _read_events(self, f: _File) -> np.ndarray | None:
        try:
            fd = os.open(f.events, os.O_RDONLY)
        except OSError:
            return None
        try:
            head = os.pread(fd, layout.HEADER.itemsize, 0)
            if len(head) < layout.HEADER.itemsize:
                return None
            h = np.frombuffer(head, layout.HEADER)[0]
            if (int(h["magic"]) != layout.MAGIC or int(h["version"]) != 3
                    or int(h["flags"]) & layout.RING_FLAG):  # a ring is watch's to read
                return None
            size = layout.RECORD.itemsize
            avail = min(int(h["used"]), int(h["capacity"])) // size
            todo = min(avail - f.consumed, 4 * MAX_RECORDS)
            if todo <= 0:
                return None
            raw = os.pread(fd, todo * size, layout.HEADER_SIZE + f.consumed * size)
        finally:
            os.close(fd)
        recs = np.frombuffer(raw[: len(raw) // size * size], layout.RECORD)
        done = recs["seq"] == np.arange(f.consumed + 1, f.consumed + 1 + recs.shape[0],
                                        dtype=np.uint64)
        k = recs.shape[0] if done.all() else int(np.argmin(done))
        f.consumed += k
        return recs[:k]

    def _busiest(self, f: _File, recs: np.ndarray, span: float
                 ) -> tuple[float, str, str] | None:
        recs = _from_outermost(recs)
        try:
            trace, fr = pt.chunk_frames(f.defs_list, recs, f.pid)
        except (KeyError, TypeError, ValueError, IndexError):
            return None
        sel = fr.element >= 0
        if not sel.any():
            return None
        key = fr.thread[sel].astype(np.int64) << 32 | fr.element[sel].astype(np.int64)
        keys, inv = np.unique(key, return_inverse=True)
        wall = np.bincount(inv, weights=fr.self_wall[sel])
        i = int(np.argmax(wall))
        thread, element = int(keys[i] >> 32), int(keys[i] & 0xFFFFFFFF)
        share = float(wall[i]) / (span * 1e9)
        name = trace.topology.name(element)
        tname = trace.threads[thread].name if thread < len(trace.threads) else None
        return min(share, 1.0), name, tname or "?"


def _from_outermost(recs: np.ndarray) -> np.ndarray:
    """The records of each thread from the moment it was least deep in calls: a run of records
    read mid-run starts inside calls whose entries were read before, which the nesting (worked
    out from the run's start) would get wrong."""
    if not recs.shape[0]:
        return recs
    delta = (np.isin(recs["kind"], layout.PRE_KINDS).astype(np.int64)
             - np.isin(recs["kind"], layout.POST_KINDS).astype(np.int64))
    keep = np.zeros(recs.shape[0], bool)
    for tid in np.unique(recs["tid"]):
        idx = np.flatnonzero(recs["tid"] == tid)
        depth = np.cumsum(delta[idx])
        low = int(depth.min())
        if low >= 0:
            keep[idx] = True
            continue
        # from the first return to the lowest depth on, it never goes below it again
        first_low = int(np.argmax(depth == low))
        keep[idx[first_low + 1:]] = True
    return recs[keep]
