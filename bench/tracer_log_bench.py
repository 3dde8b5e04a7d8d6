"""Parse + analyze time and peak memory of `pipesight analyze` on a large GStreamer tracer log,
side by side with gst-stats-1.0 on the same file (runs alternate A B A B ...).

    .venv/bin/python bench/tracer_log_bench.py --make /tmp/big.log --size-mb 600
    .venv/bin/python bench/tracer_log_bench.py /tmp/big.log --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure


def make_log(path: Path, size_mb: int) -> None:
    """stats + latency tracers on a tee'd pipeline of tiny frames: many records per second,
    as a long, busy pipeline writes them."""
    buffers = max(1000, int(size_mb * 1e6 / 10_700))  # ~10.7 kB of records per source buffer
    env = dict(os.environ, GST_TRACERS="stats;latency(flags=pipeline+element)",
               GST_DEBUG="GST_TRACER:7", GST_DEBUG_FILE=str(path), GST_DEBUG_NO_COLOR="1")
    desc = (f"videotestsrc num-buffers={buffers} pattern=black ! video/x-raw,width=16,height=16 "
            "! tee name=t t. ! queue ! videoconvert ! fakesink t. ! queue ! identity ! fakesink")
    subprocess.run(["gst-launch-1.0", "-q", *desc.split()], env=env, check=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("log", nargs="?")
    ap.add_argument("--make", metavar="PATH")
    ap.add_argument("--size-mb", type=int, default=600)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    if a.make:
        make_log(Path(a.make), a.size_mb)
        print(f"wrote {a.make}: {Path(a.make).stat().st_size / 1e6:.0f} MB")
        return 0
    log = Path(a.log)
    size_mb = log.stat().st_size / 2**20
    ours = [sys.executable, "-m", "pipesight", "analyze", "--json", str(log)]
    theirs = ["gst-stats-1.0", str(log)]
    rows: dict[str, list] = {"pipesight analyze": [], "gst-stats-1.0": []}
    for _ in range(a.runs):
        rows["pipesight analyze"].append(measure(ours))
        rows["gst-stats-1.0"].append(measure(theirs))
    print(f"log: {log} ({size_mb:.0f} MiB), {a.runs} runs each, alternating")
    print(f"{'command':20s} {'wall s (min/med/max)':>26s} {'cpu s med':>10s} "
          f"{'peak tree MiB med':>18s}")
    for name, ss in rows.items():
        w = sorted(s.wall_s for s in ss)
        print(f"{name:20s} {w[0]:8.2f} {statistics.median(w):8.2f} {w[-1]:8.2f} "
              f"{statistics.median(s.cpu_s for s in ss):10.2f} "
              f"{statistics.median(s.peak_tree_mb for s in ss):18.0f}")
        if any(s.returncode for s in ss):
            print(f"  {name} exited non-zero: {[s.returncode for s in ss]}")
    ratio = statistics.median(b.wall_s / a_.wall_s for a_, b in zip(rows["pipesight analyze"],
                                                                    rows["gst-stats-1.0"],
                                                                    strict=True))
    print(f"gst-stats-1.0 / pipesight wall time, median of pairs: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
