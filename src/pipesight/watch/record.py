"""Each interval's verdict as one JSON line in RUN/intervals.jsonl: what limited the pipeline,
how fast it ran, the costliest elements, whether the trace was complete. The file is rotated
to intervals.1.jsonl at half its cap (about 1.5 KB a line: 16 MB holds weeks at 10 s)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

INTERVALS_MAX_BYTES = 16 << 20
TOP = 5


def summary(v: dict[str, Any], info: dict[str, Any]) -> dict[str, Any]:
    b = v.get("bottleneck") or {}
    fix = next(iter(b.get("fixes") or []), None)
    elements = sorted((e for e in v.get("elements", []) if e.get("thread_share") is not None),
                      key=lambda e: -(e.get("thread_share") or 0))[:TOP]
    return {
        **info,
        "throughput_fps": v.get("throughput_fps"),
        "throughput_unit": v.get("throughput_unit"),
        "bottleneck": {k: b.get(k) for k in ("kind", "element", "thread", "confidence",
                                             "summary")},
        "fix": None if fix is None else {k: fix.get(k) for k in ("action", "text",
                                                                 "predicted_fps", "bound")},
        "top_elements": [{k: e.get(k) for k in ("name", "thread", "fps", "mean_process_ms",
                                                "p99_process_ms", "thread_share")}
                         for e in elements],
        "threads": [{k: t.get(k) for k in ("thread", "busy_pct", "cpu_pct", "queue_wait_pct")}
                    for t in v.get("threads", [])[:TOP * 2]],
        "sinks": [{k: s.get(k) for k in ("element", "frames", "fps")} for s in v.get("sinks", [])],
        "dropped": {q["element"]: q["dropped"] for q in v.get("queues", []) if q.get("dropped")},
    }


class IntervalLog:
    def __init__(self, path: Path, max_bytes: int = INTERVALS_MAX_BYTES) -> None:
        self.path = path
        self.half = max(max_bytes // 2, 4096)

    def append(self, rec: dict[str, Any]) -> None:
        line = (json.dumps(rec, separators=(",", ":"), default=str) + "\n").encode()
        try:
            size = self.path.stat().st_size
        except OSError:
            size = 0
        if size and size + len(line) > self.half:
            os.replace(self.path, self.path.with_name("intervals.1.jsonl"))
        with open(self.path, "ab") as f:  # one write: a reader never sees half a line
            f.write(line)
