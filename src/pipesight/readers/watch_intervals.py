"""Reader for a `pipesight watch` run's interval log: RUN/intervals.1.jsonl (the older half,
after a rotation) then RUN/intervals.jsonl, one judged interval per line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipesight.readers.checks import is_int, is_number, json_object, text
from pipesight.trace.watch import Interval

FILES = ("intervals.1.jsonl", "intervals.jsonl")
MAX_SECONDS = 7 * 86400.0  # no watch interval is longer than a week
MAX_UNIX = 1e11  # past the year 5000: a damaged clock, not a time


def read(run_dir: Path) -> tuple[list[Interval], list[str]]:
    """Every readable interval, in order (a rotation can repeat none: indices only grow); what
    was skipped, as notes."""
    out: list[Interval] = []
    bad = 0
    for name in FILES:
        p = run_dir / name
        if not p.is_file():  # regular files only: a pipe of that name would never end
            continue
        with open(p, encoding="utf-8", errors="replace") as f:
            for line in f:
                iv = _interval(json_object(line))
                if iv is None:
                    if line.strip():
                        bad += 1
                elif not out or iv.index > out[-1].index:
                    out.append(iv)
                else:
                    bad += 1  # out of order: a damaged or hand-edited log
    notes = [f"intervals.jsonl: skipped {bad} unreadable or out-of-order lines"] if bad else []
    return out, notes


def _interval(d: dict[str, Any] | None) -> Interval | None:
    if d is None or not is_int(d.get("interval"), 1) \
            or not is_number(d.get("end_unix"), 0.0, MAX_UNIX) \
            or not is_number(d.get("seconds"), 0.0, MAX_SECONDS):
        return None
    fps = d.get("throughput_fps")
    b = d.get("bottleneck")
    b = b if isinstance(b, dict) else {}
    ended = d.get("ended")
    return Interval(
        index=d["interval"],
        end_unix=float(d["end_unix"]),
        seconds=float(d["seconds"]),
        fps=float(fps) if is_number(fps, 0.0) else None,
        unit=text(d.get("throughput_unit")) or None,
        kind=text(b.get("kind")) or None,
        element=text(b.get("element")) or None,
        confidence=text(b.get("confidence")) or None,
        complete=d.get("complete") is True,
        ended=text(ended.get("by")) or None if isinstance(ended, dict) else None,
    )
