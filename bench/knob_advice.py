"""Advice that names the knob, measured: does following it help, and by as much as predicted?

For each pipeline below: profile it (`pipesight profile`), read the fixes its verdict proposes
that change the pipeline in a way a script can apply (a property of the bottleneck element,
`set-property`; a queue before or after it), then measure the throughput of the pipeline as it
is and after each fix with no instrumentation (frames over gst-launch-1.0's "Execution ended
after"), --runs times, the variants interleaved so that a change in the machine's load hits
all of them alike; medians.

    .venv/bin/python bench/knob_advice.py [--runs 5] [--json OUT] [NAME ...]

Prints a markdown table for docs/benchmarks.md (machine, date, load in its header; for each
variant the median of the cores the machine left idle while it ran: more threads can only
help where a core is free).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipesight.analyses.context import Context
from pipesight.analyses.knob_advice import advise
from pipesight.capture.host import describe
from pipesight.lab import media
from pipesight.workflows.answer import answer

ENDED = re.compile(r"Execution ended after (\d+):(\d+):(\d+\.\d+)")


@dataclass(frozen=True)
class Case:
    name: str
    desc: str  # gst-launch-1.0 description; the bottleneck is named "target"
    frames: int  # buffers the source makes (a file: all of its frames)


def cases() -> list[Case]:
    mp4 = media.ensure("h264_mp4")
    return [
        Case("videoconvert", "videotestsrc num-buffers=600 pattern=black ! "
             "video/x-raw,format=I420,width=1920,height=1080 ! videoconvert name=target ! "
             "video/x-raw,format=BGRx ! fakesink sync=false", 600),
        Case("videoscale", "videotestsrc num-buffers=300 pattern=black ! "
             "video/x-raw,width=1280,height=720 ! videoscale name=target method=lanczos ! "
             "video/x-raw,width=1920,height=1080 ! fakesink sync=false", 300),
        Case("avdec_h264", f"filesrc location={mp4} ! qtdemux ! queue ! "
             "avdec_h264 name=target max-threads=1 ! queue ! fakesink sync=false", 900),
    ]


def _profile(c: Case) -> tuple[object, list[tuple[str, str]]]:
    """The verdict, and the changes to try: (label, new description)."""
    out = Path(tempfile.mkdtemp(prefix=f"knob-{c.name}-")) / "run"
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(out), "--",
                        "gst-launch-1.0", *c.desc.split()], capture_output=True, text=True,
                       timeout=300)
    if r.returncode != 0:
        raise RuntimeError(f"{c.name}: profile failed: {r.stderr[-300:]}")
    ans = answer(out)
    v = ans.verdict
    target = ans.trace.topology.by_name("target")
    changes = []
    if target is not None and v.bottleneck.element == "target":
        for a in advise(Context(ans.trace, ans.metrics), target.id):
            changes.append((f"{a.knob.prop}={a.to}",
                            c.desc.replace("name=target", f"name=target {a.knob.prop}={a.to}")))
        actions = {f.action for f in v.bottleneck.fixes}
        if "queue-before" in actions:
            changes.append(("queue before", re.sub(r"(! )(\S+ name=target)", r"\1queue ! \2",
                                                   c.desc)))
        if "queue-after" in actions:
            changes.append(("queue after", re.sub(r"(name=target[^!]*!)", r"\1 queue !",
                                                  c.desc)))
    return v, changes


def _cpu_times() -> tuple[int, int]:
    """The machine's (idle, total) clock ticks so far (/proc/stat's first line)."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:9]]
    return v[3] + v[4], sum(v)


def _fps(desc: str, frames: int) -> tuple[float, float]:
    """Throughput, and the cores other processes left idle meanwhile (with the pipeline's
    own use: what more threads could have had)."""
    idle0, total0 = _cpu_times()
    r = subprocess.run(["gst-launch-1.0", *desc.split()], capture_output=True, text=True,
                       timeout=300)
    idle1, total1 = _cpu_times()
    m = ENDED.search(r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"failed: {desc}: {r.stderr[-300:]}")
    fps = frames / (int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3)))
    idle = (idle1 - idle0) / max(total1 - total0, 1) * (os.cpu_count() or 1)
    return fps, idle


def measure(c: Case, runs: int) -> list[dict]:
    v, changes = _profile(c)
    predicted = {}
    for f in v.bottleneck.fixes:
        for label, _ in changes:
            if label.split("=")[0] in f.text or label in f.text:
                predicted[label] = f.predicted_fps
    variants = [("as is", c.desc), *changes]
    got: dict[str, list[float]] = {label: [] for label, _ in variants}
    idle: dict[str, list[float]] = {label: [] for label, _ in variants}
    for _ in range(runs):
        for label, desc in variants:
            fps, free = _fps(desc, c.frames)
            got[label].append(fps)
            idle[label].append(free)
    base = statistics.median(got["as is"])
    rows = []
    for label, _ in variants:
        med = statistics.median(got[label])
        rows.append({"pipeline": c.name, "change": label, "verdict":
                     f"{v.bottleneck.kind}:{v.bottleneck.element}",
                     "profiled_fps": v.throughput_fps, "predicted_fps": predicted.get(label),
                     "median_fps": round(med, 1), "runs": [round(x, 1) for x in got[label]],
                     "best_fps": round(max(got[label]), 1),
                     "idle_cores": round(statistics.median(idle[label]), 2),
                     "gain_pct": round(100 * (med - base) / base, 1)})
    return rows


def table(rows: list[dict]) -> str:
    out = ["| pipeline | change | profiled fps → predicted (instrumented) | measured median "
           "fps (uninstrumented) | vs as is | best run | cores idle meanwhile | runs |",
           "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pred = "-" if r["predicted_fps"] is None else \
            f"{r['profiled_fps']:.1f} → {r['predicted_fps']:.1f}"
        out.append(f"| {r['pipeline']} | {r['change']} | {pred} | {r['median_fps']:.1f} | "
                   f"{r['gain_pct']:+.1f}% | {r['best_fps']:.1f} | {r['idle_cores']:.2f} | "
                   f"{', '.join(f'{x:g}' for x in r['runs'])} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", metavar="OUT")
    a = ap.parse_args()
    chosen = [c for c in cases() if not a.names or c.name in a.names]
    host = describe()
    rows = [r for c in chosen for r in measure(c, a.runs)]
    print(f"{datetime.now(timezone.utc):%Y-%m-%d}, {host.get('cpu', '?')}, "
          f"{host.get('cpus_allowed', '?')} CPUs, load average {os.getloadavg()[0]:.1f}\n")
    print(table(rows))
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
