"""`profile --repeat N`: N runs of one command, each in RUN/repeats/I. The run nearest the median
throughput speaks for all (its verdict, its report); beside it, the spread over the runs and
each run's own throughput and bottleneck (verdict.json's ``run.repeat``)."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from pipesight.findings import Verdict


def representative(fps: list[float]) -> int:
    """Index of the run nearest the median throughput: it speaks for all."""
    med = statistics.median(fps)
    return min(range(len(fps)), key=lambda i: abs(fps[i] - med))


def repeat_summary(vs: list[Verdict], dirs: list[str] | None = None,
                   skipped: list[str] | None = None) -> dict[str, Any]:
    """The spread over the runs; ``dirs``: each run's directory (relative to the run's)."""
    fps = [v.throughput_fps or 0.0 for v in vs]
    mean = statistics.fmean(fps)
    sd = statistics.stdev(fps) if len(fps) > 1 else 0.0
    kinds = [f"{v.bottleneck.kind}:{v.bottleneck.element}" for v in vs]
    out: dict[str, Any] = {
        "n": len(vs),
        "throughput_fps": [round(x, 3) for x in fps],
        "mean_fps": round(mean, 3),
        "median_fps": round(statistics.median(fps), 3),
        "stdev_fps": round(sd, 3),
        "min_fps": round(min(fps), 3),
        "max_fps": round(max(fps), 3),
        "cv": round(sd / mean, 4) if mean else None,
        "bottlenecks": kinds,
        "stable_verdict": len(set(kinds)) == 1,
    }
    if dirs is not None:
        out["runs"] = dirs
        out["representative"] = dirs[representative(fps)]
    if skipped:
        out["skipped"] = skipped
    return out


def relative(p: Path, root: Path) -> str:
    try:
        return str(p.relative_to(root))
    except ValueError:
        return str(p)
