"""Consumes the tracer's ring (events-PID.bin in ring mode) while it is written.

Record index i lives in slot i mod slots and carries seq = i + 1, written last; a writer
starting a later lap first sets the slot's seq to 0. So a slot read with seq == i + 1 holds
record i complete, seq < i + 1 one still being written (or never finished), seq > i + 1 a
later lap: record i was overwritten before it was read (lost). A copy is kept only if, once
it was made, the writers had not yet reserved that slot's next lap: torn copies (a record
half replaced while it was copied) are thereby ruled out by position as well as by seq.
Reads use pread, not a mapping: a file cut under a mapping would kill the reader (SIGBUS).
"""

from __future__ import annotations

import fcntl
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from pipesight.tracer.layout import HEADER, HEADER_SIZE, MAGIC, RECORD, RING_FLAG

# a writer that reserved a slot and did not fill it within this long is taken as gone (its
# thread died mid-record): the record is counted incomplete and reading goes on past it
STUCK_S = 2.0


class NotARing(ValueError):
    """The file is not a ring written by pipesight's tracer."""


def read_header(fd: int) -> np.void:
    raw = os.pread(fd, HEADER.itemsize, 0)
    if len(raw) < HEADER.itemsize:
        raise NotARing("too short for a pipesight events file")
    return np.frombuffer(raw, HEADER)[0]


def is_ring(path: Path) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        h = read_header(fd)
        return int(h["magic"]) == MAGIC and bool(int(h["flags"]) & RING_FLAG)
    except NotARing:
        return False
    finally:
        os.close(fd)


def writer_alive(path: Path) -> bool:
    """Whether the process writing this ring still runs: it holds a shared lock on the file
    for its lifetime (across PID namespaces too, unlike a pid check)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


@dataclass
class Poll:
    records: np.ndarray  # complete records, in index order (RECORD rows)
    lost: int  # overwritten before they were read
    incomplete: int  # reserved but never finished (a writer gone mid-record)


class RingReader:
    """Reads new records of one ring, in order, without ever blocking its writers."""

    def __init__(self, path: Path, from_start: bool = True) -> None:
        self.path = path
        self.fd = os.open(path, os.O_RDONLY)
        h = read_header(self.fd)
        if int(h["magic"]) != MAGIC or not int(h["flags"]) & RING_FLAG:
            os.close(self.fd)
            raise NotARing(f"{path}: not a ring written by pipesight's tracer (pipesight "
                           "watch rings have the ring flag in their header)")
        if int(h["version"]) != 3 or int(h["record_size"]) != RECORD.itemsize:
            os.close(self.fd)
            raise NotARing(f"{path}: ring of format {int(h['version'])}, record size "
                           f"{int(h['record_size'])}: not one this pipesight reads")
        self.pid = int(h["pid"])
        self.slots = int(h["capacity"]) // RECORD.itemsize
        # a reader keeps this far behind a full lap: the writers would have to fill this many
        # slots while one copy is made to reach a slot being read
        self.margin = max(self.slots // 8, 1)
        reserved = int(h["used"]) // RECORD.itemsize
        # attaching to a ring already written: what it still holds, less the margin
        self.next = max(0, reserved - self.slots + self.margin) if from_start else reserved
        self.skipped_at_start = self.next
        self.lost = 0
        self.incomplete = 0
        self._stuck: tuple[int, float] | None = None  # (record index, first seen unfinished)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def reserved(self) -> int:
        return int(read_header(self.fd)["used"]) // RECORD.itemsize

    def poll(self, writer_gone: bool = False, max_records: int | None = None) -> Poll:
        """The records completed since the last poll. ``writer_gone``: the process ended, so a
        record still unfinished never will be."""
        lost = incomplete = 0
        reserved = self.reserved()
        behind = reserved - self.next
        if behind > self.slots - self.margin:
            skip = behind - (self.slots - self.margin)
            lost += skip
            self.next += skip
        end = reserved if max_records is None else min(reserved, self.next + max_records)
        recs = self._read(self.next, end)
        idx = np.arange(self.next, end, dtype=np.uint64)
        seq = recs["seq"]
        done = seq == idx + 1
        later = seq > idx + 1
        # stop at the first record still being written: order within a thread must hold
        pending = np.flatnonzero(~done & ~later)
        stop = end
        now = time.monotonic()
        if pending.size and writer_gone:
            incomplete += int(pending.size)  # they never will be finished
            self._stuck = None
        elif pending.size:
            first = self.next + int(pending[0])
            if self._stuck is not None and self._stuck[0] == first \
                    and now - self._stuck[1] > STUCK_S:
                # that writer is gone (its thread died mid-record): skip the record
                incomplete += 1
                if pending.size > 1:
                    stop = self.next + int(pending[1])
                    self._stuck = (stop, now)
                else:
                    self._stuck = None
            else:
                if self._stuck is None or self._stuck[0] != first:
                    self._stuck = (first, now)
                stop = first
        else:
            self._stuck = None
        n = stop - self.next
        keep = done[:n]
        lost += int(np.count_nonzero(later[:n]))
        # copies of slots the writers reserved again while they were made may be torn
        after = self.reserved()
        unsafe = idx[:n] + np.uint64(self.slots) <= np.uint64(after)
        if unsafe.any():
            lost += int(np.count_nonzero(keep & unsafe))
            keep = keep & ~unsafe
        out = recs[:n][keep]
        self.next = stop
        self.lost += lost
        self.incomplete += incomplete
        return Poll(out, lost, incomplete)

    def _read(self, start: int, end: int) -> np.ndarray:
        if end <= start:
            return np.zeros(0, RECORD)
        parts = []
        i = start
        while i < end:
            slot = i % self.slots
            n = min(end - i, self.slots - slot)
            raw = os.pread(self.fd, n * RECORD.itemsize, HEADER_SIZE + slot * RECORD.itemsize)
            got = len(raw) // RECORD.itemsize
            parts.append(np.frombuffer(raw[: got * RECORD.itemsize], RECORD))
            if got < n:  # the file is shorter than its header says: what is missing is lost
                parts.append(np.zeros(n - got, RECORD))
            i += n
        return np.concatenate(parts) if len(parts) > 1 else parts[0].copy()
