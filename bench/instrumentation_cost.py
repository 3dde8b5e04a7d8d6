"""What the instrumentation costs.

1. CPU time per pad push for each tracer set, on a pipeline of trivial elements (11 pushes per
   buffer), from the process's own CPU accounting: (cpu with tracers - cpu without) / pushes.
2. Frames per second lost on real pipelines: the lab scenarios and two reference pipelines
   (1080p jpegenc; a light 320x240 pipeline near 6000 fps), each run uninstrumented and
   instrumented in turn, throughput = frames / time in PLAYING as gst-launch-1.0 reports it.

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
from pipesight.capture.tracer_build import plugin_dir
from pipesight.lab import runner
from pipesight.lab.scenarios import SCENARIOS

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


def fps(argv: list[str], env: dict[str, str], frames: int) -> float:
    r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    m = _ENDED.search(r.stdout)
    if not m:
        raise RuntimeError(r.stderr[-300:])
    return frames / (int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))


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


def fps_lost(runs: int, tmp: Path) -> None:
    print(f"\n2. Throughput lost (median of {runs}; frames / time in PLAYING)")
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
    sets = ["none", "pipesight+latency (profile --latency)", "pipesight", "stats+rusage+latency"]
    print(f"   {'pipeline':24s} " + " ".join(f"{k[:22]:>24s}" for k in sets))
    for name, argv, frames in cases:
        res: dict[str, list[float]] = {k: [] for k in sets}
        for _ in range(runs):
            for k in sets:
                res[k].append(fps(argv, env_for(TRACER_SETS[k], tmp), frames))
        base = statistics.median(res["none"])
        cells = [f"{base:10.1f} fps" + " " * 10]
        for k in sets[1:]:
            med = statistics.median(res[k])
            cells.append(f"{med:10.1f} ({100 * (med - base) / base:+5.1f}%)  ")
        print(f"   {name:24s} " + " ".join(f"{c:>24s}" for c in cells), flush=True)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", choices=["push", "fps"])
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if a.only in (None, "push"):
            per_push(a.runs, tmp)
        if a.only in (None, "fps"):
            fps_lost(a.runs, tmp)
    return 0


if __name__ == "__main__":
    sys.exit(main())
