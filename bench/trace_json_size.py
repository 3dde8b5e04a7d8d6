"""trace.json before and after its slice budget: real pipelines profiled for a few seconds
(the issue's audio encoder, small video frames), then trace.json written from the same
analysed run with the former budget (400,000 slices) and the current one (MAX_SLICES), each
timed; size, slices one by one, aggregated slices, and the merged calls.

    .venv/bin/python bench/trace_json_size.py [--seconds 6] [--out DIR]

Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from pipesight.render import perfetto
from pipesight.workflows.answer import analyze_path

FORMER_BUDGET = 400_000  # the default before issue 17
PIPELINES = {
    "audio: audiotestsrc ! audioconvert ! vorbisenc ! oggmux ! filesink":
        ["audiotestsrc", "!", "audioconvert", "!", "vorbisenc", "!", "oggmux", "!", "filesink",
         "location={out}/audio.ogg"],
    "video: 160x120 videotestsrc ! videoconvert ! queue ! jpegenc ! fakesink":
        ["videotestsrc", "!", "video/x-raw,width=160,height=120", "!", "videoconvert", "!",
         "queue", "!", "jpegenc", "!", "fakesink"],
}


def _cpu() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.machine()


def measure(run: Path, budget: int, out: Path) -> dict:
    trace, metrics, verdict, _ = analyze_path(run)
    t0, c0 = time.perf_counter(), time.process_time()
    stats = perfetto.write(trace, metrics, out, verdict=verdict, max_slices=budget)
    stats["wall_s"] = time.perf_counter() - t0
    stats["cpu_s"] = time.process_time() - c0
    agg = json.loads(out.read_text())["otherData"].get("aggregation") or {}
    stats["merged_calls"] = agg.get("merged_calls", 0)
    return stats


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=6.0)
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="pipesight-trace-json-"))
    out.mkdir(parents=True, exist_ok=True)
    print(f"Machine: {_cpu()}, Python {platform.python_version()}. "
          f"Date: {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC. Runs of {a.seconds:g} s.\n")
    print("| pipeline | budget | trace.json | slices one by one | aggregated slices | "
          "calls merged | write (CPU) |")
    print("|---|---|---|---|---|---|---|")
    for i, (title, pipeline) in enumerate(PIPELINES.items()):
        run = out / f"run{i}"
        cmd = [sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--duration",
               f"{a.seconds:g}", "--", "gst-launch-1.0",
               *[x.format(out=out) for x in pipeline]]
        subprocess.run(cmd, check=True, capture_output=True, timeout=600)
        for name, budget in (("before", FORMER_BUDGET), ("after", perfetto.MAX_SLICES)):
            s = measure(run, budget, out / f"run{i}-{name}.json")
            print(f"| {title} | {name}: {budget:,} | {s['bytes'] / 1e6:.1f} MB | "
                  f"{s['slices']:,} | {s['aggregated_slices']:,} | {s['merged_calls']:,} | "
                  f"{s['wall_s']:.2f} s ({s['cpu_s']:.2f} s) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
