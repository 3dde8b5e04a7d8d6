"""What the instrumentation costs.

1. CPU time per pad push for each tracer set, on a pipeline of trivial elements (11 pushes per
   buffer), from the process's own CPU accounting: (cpu with tracers - cpu without) / pushes.
2. Frames per second lost on real pipelines: the lab scenarios and two reference pipelines
   (1080p jpegenc; a light 320x240 pipeline of thousands of fps), each run uninstrumented and
   instrumented in turn, throughput = frames / time in PLAYING as gst-launch-1.0 reports it;
   the median over runs, beside the spread of the uninstrumented runs (half of max - min, as
   a share of the median): on a shared VM runs of a second or two vary by 10% or more, so use
   many runs (--runs 9).

    .venv/bin/python bench/instrumentation_cost.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from pipesight.capture.environment import traced_env
from pipesight.lab import runner
from pipesight.lab.scenarios import SCENARIOS
from pipesight.tracer.build import plugin_dir

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure

_ENDED = re.compile(r"Execution ended after (\d+):(\d+):(\d+\.\d+)")
TRACER_SETS = {
    "none": [],
    "pipesight": ["pipesight"],
    "pipesight+latency (profile --latency)": ["pipesight", "latency(flags=pipeline+element)"],
    "stats": ["stats"],
    "stats+rusage+latency": ["stats", "rusage", "latency(flags=pipeline+element)"],
}
REFERENCE = {
    "jpegenc 1080p": "videotestsrc num-buffers=300 ! video/x-raw,width=1920,height=1080 ! "
                     "jpegenc ! fakesink",
    "light 320x240": "videotestsrc num-buffers=30000 pattern=black ! "
                     "video/x-raw,width=320,height=240 ! queue ! videoconvert ! fakesink",
}


def env_for(tracers: list[str], tmp: Path) -> dict[str, str]:
    if not tracers:
        return dict(os.environ)
    tdir, _ = plugin_dir()
    run = Path(tempfile.mkdtemp(dir=tmp))
    (run / "trace").mkdir()
    env, _ = traced_env(os.environ, run, tdir, tracers)
    return env


def fps(argv: list[str], env: dict[str, str], frames: int) -> tuple[float, float]:
    """(frames per second in PLAYING, CPU seconds of the process per frame)."""
    before = os.times()
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    after = os.times()
    m = _ENDED.search(r.stdout)
    if not m:
        raise RuntimeError(r.stderr[-300:])
    cpu = (after.children_user - before.children_user
           + after.children_system - before.children_system)
    playing = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return frames / playing, cpu / frames


def per_push(runs: int, tmp: Path) -> None:
    n, elements = 100_000, 10
    desc = (f"fakesrc num-buffers={n} sizetype=fixed sizemax=16 ! "
            + " ! ".join(["identity"] * elements) + " ! fakesink")
    argv = ["gst-launch-1.0", "-q", *desc.split()]
    pushes = n * (elements + 1)
    cpu: dict[str, list[float]] = {k: [] for k in TRACER_SETS}
    for _ in range(runs):
        for name, tracers in TRACER_SETS.items():
            cpu[name].append(measure(argv, env_for(tracers, tmp)).cpu_s)
    base = statistics.median(cpu["none"])
    print(f"\n1. CPU per pad push ({pushes} pushes, median of {runs})")
    for name, v in cpu.items():
        med = statistics.median(v)
        print(f"   {name:40s} cpu {med:6.2f} s   +{(med - base) / pushes * 1e6:6.2f} us/push")


def fps_lost(runs: int, tmp: Path, only: set[str]) -> None:
    print(f"\n2. Throughput lost and CPU per frame added (median of {runs}; fps = frames / time "
          "in PLAYING)")
    cases: list[tuple[str, list[str], int]] = []
    for name, desc in REFERENCE.items():
        frames = int(re.search(r"num-buffers=(\d+)", desc).group(1))
        cases.append((name, ["gst-launch-1.0", *desc.split()], frames))
    for s in SCENARIOS:
        argv = runner.command(s, runner.default_names(s))
        if any(a.startswith("location=") for a in argv):
            cases.append((f"lab {s.name}", argv, 900))
            continue
        out = []
        for a in argv:
            out.append(a)
            if a == "videotestsrc":
                out.append(f"num-buffers={s.gt_frames}")
        cases.append((f"lab {s.name}", out, s.gt_frames))
    sets = ["none", *(k for k in TRACER_SETS if k != "none" and k in only)]
    # the spread of the uninstrumented runs is the noise a loss must exceed to mean anything;
    # CPU per frame is steadier than wall time on a shared machine, so it is shown beside it
    print(f"   {'pipeline':24s} {'none: fps (spread), cpu':>34s} "
          + " ".join(f"{k[:30]:>32s}" for k in sets[1:]))
    for name, argv, frames in cases:
        res: dict[str, list[tuple[float, float]]] = {k: [] for k in sets}
        for _ in range(runs):
            for k in sets:
                res[k].append(fps(argv, env_for(TRACER_SETS[k], tmp), frames))
        rate = {k: statistics.median(r[0] for r in v) for k, v in res.items()}
        cpu = {k: statistics.median(r[1] for r in v) for k, v in res.items()}
        base = rate["none"]
        spread = (max(r[0] for r in res["none"]) - min(r[0] for r in res["none"])) / base
        cells = [f"{base:9.1f} (±{50 * spread:4.1f}%) {cpu['none'] * 1e3:7.3f} ms"]
        for k in sets[1:]:
            cells.append(f"{100 * (rate[k] - base) / base:+6.1f}% fps, "
                         f"{100 * (cpu[k] - cpu['none']) / cpu['none']:+6.1f}% cpu")
        print(f"   {name:24s} " + " ".join(f"{c:>32s}" for c in cells), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["push", "fps"])
    ap.add_argument("--sets", default=",".join(TRACER_SETS),
                    help="tracer sets to compare with none, comma-separated (names above)")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if a.only in (None, "push"):
            per_push(a.runs, tmp)
        if a.only in (None, "fps"):
            fps_lost(a.runs, tmp, set(a.sets.split(",")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
