"""Ground truth for the lab scenarios, measured without any instrumentation.

For each scenario, the planted pipeline and its fixed variant (culprit replaced or cheapened)
run with a fixed number of frames (num-buffers on the source, the feed of an application; the
whole file for file sources), plain gst-launch-1.0 (or the scenario's PyGObject application,
which prints the same line), no tracer; throughput = frames / time from PLAYING to EOS as
gst-launch-1.0 reports it ("Execution ended after"). Where the source's frames do not all reach
the sink (a leaky queue drops them: `gt_method="profile"`), the sinks' rate is taken from
`pipesight profile` instead (pipesight's tracer, about 1 us a push). Median of --runs runs.
Writes src/pipesight/lab/ground_truth.json (machine, date, numbers) and prints a table.

    .venv/bin/python bench/lab_ground_truth.py [--runs 3] [NAME ...]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
from datetime import UTC, datetime
from pathlib import Path

from pipesight.capture.host import describe
from pipesight.lab import runner
from pipesight.lab.scenarios import SCENARIOS

OUT = Path(__file__).resolve().parent.parent / "src" / "pipesight" / "lab" / "ground_truth.json"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    data = json.loads(OUT.read_text()) if OUT.exists() else {}
    for s in SCENARIOS:
        if a.names and s.name not in a.names:
            continue
        base = statistics.median(runner.uninstrumented_fps(s, False) for _ in range(a.runs))
        fixed = statistics.median(runner.uninstrumented_fps(s, True) for _ in range(a.runs))
        data[s.name] = {"fps": round(base, 2), "fixed_fps": round(fixed, 2),
                        "ratio": round(fixed / base, 2), "runs": a.runs,
                        "date": datetime.now(UTC).date().isoformat(),
                        "machine": f"{platform.node()}: {describe()['cpu']}, "
                                   f"{describe()['cpus']} cores",
                        "note": ("sinks' rate under pipesight profile (frames are dropped on "
                                 "the way), median" if s.gt_method == "profile" else
                                 "frames / time in PLAYING, uninstrumented gst-launch-1.0, "
                                 "median")}
        print(f"{s.name:16s} {base:8.1f} fps -> fixed {fixed:8.1f} fps  x{fixed / base:.2f}",
              flush=True)
    OUT.write_text(json.dumps(data, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
