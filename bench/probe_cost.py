"""What timing pad probes, and the tracer's NVTX ranges, cost per call.

A pipeline of ELEMENTS identities, BUFFERS buffers, in a PyGObject app (bench/apps/
probe_pushes.py), run with and without pipesight's tracer and with and without a no-op Python
probe on each identity's src pad. CPU time of the process (user + system) per push:

    probe bracketing = [tracer, probes] - [no tracer, probes] - ([tracer] - [no tracer])

per probed push, i.e. what the tracer adds for the probe spans beyond its cost for a push. With
--nvtx it also runs the tracer with PIPESIGHT_NVTX=1 (an NVTX range per push and per probe
span): outside Nsight Systems the calls find no injection and return; with --nsys the runs go
under `nsys profile -t nvtx` (GPU machine), where each range is recorded.

    .venv/bin/python bench/probe_cost.py [--runs 5] [--buffers 20000] [--nvtx] [--nsys]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import measure

from pipesight.capture.environment import PYHOOKS, traced_env
from pipesight.tracer.build import plugin_dir

APP = Path(__file__).resolve().parent / "apps" / "probe_pushes.py"


def env_for(tracer: bool, nvtx: bool, tmp: Path, hooks: bool = True) -> dict[str, str]:
    if not tracer:
        return dict(os.environ)
    tdir, note = plugin_dir()
    if tdir is None:
        raise SystemExit(f"no tracer: {note}")
    run = Path(tempfile.mkdtemp(dir=tmp))
    (run / "trace").mkdir()
    env, _ = traced_env(os.environ, run, tdir, ["pipesight"])
    if nvtx:
        env["PIPESIGHT_NVTX"] = "1"
    if not hooks:  # pipesight's Python callback timing left out: the C tracer alone
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in env["PYTHONPATH"].split(os.pathsep) if p != str(PYHOOKS))
    return env


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--buffers", type=int, default=20_000)
    ap.add_argument("--elements", type=int, default=10)
    ap.add_argument("--nvtx", action="store_true")
    ap.add_argument("--nsys", action="store_true", help="run each case under nsys -t nvtx")
    a = ap.parse_args()
    pushes = a.buffers * (a.elements + 1)
    probed = a.buffers * a.elements
    cases = {"no tracer": (False, False, False), "tracer": (True, False, False),
             "no tracer, probes": (False, False, True), "tracer, probes": (True, False, True),
             "tracer, probes, no hooks": (True, False, True)}
    if a.nvtx:
        cases["tracer+nvtx"] = (True, True, False)
        cases["tracer+nvtx, probes"] = (True, True, True)
    nsys = shutil.which("nsys") if a.nsys else None
    if a.nsys and nsys is None:
        raise SystemExit("--nsys: nsys is not on PATH")
    cpu: dict[str, list[float]] = {k: [] for k in cases}
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        for i in range(a.runs):
            for name, (tracer, nvtx, probes) in cases.items():
                argv = [sys.executable, str(APP), str(a.buffers), str(a.elements)]
                if probes:
                    argv.append("--probes")
                if nsys:
                    argv = [nsys, "profile", "-t", "nvtx", "-s", "none", "--cpuctxsw=none",
                            "-o", str(tmp / f"r{i}-{len(cpu[name])}"), "--force-overwrite",
                            "true", *argv]
                env = env_for(tracer, nvtx, tmp, hooks="no hooks" not in name)
                own = tmp / f"cpu-{i}-{len(cpu[name])}"
                env["PROBE_PUSHES_CPU"] = str(own)
                took = measure(argv, env).cpu_s
                # under nsys the app is not the benchmark's child: it reports its own CPU
                cpu[name].append(float(own.read_text()) if own.exists() else took)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    print(f"{pushes} pushes, {probed} of them through a probed pad; CPU s, median of {a.runs}"
          + (" (under nsys -t nvtx)" if nsys else ""))
    for k, v in med.items():
        print(f"  {k:24s} {v:7.3f} s  (spread {min(cpu[k]):.3f}..{max(cpu[k]):.3f})")
    per_push = (med["tracer"] - med["no tracer"]) / pushes
    probe = ((med["tracer, probes"] - med["no tracer, probes"]) - (med["tracer"] - med["no tracer"])
             ) / probed
    bracket = ((med["tracer, probes, no hooks"] - med["no tracer, probes"])
               - (med["tracer"] - med["no tracer"])) / probed
    print(f"tracer per push:                 {per_push * 1e6:6.2f} us")
    print(f"probe timing per probed push:    {probe * 1e6:6.2f} us (C bracketing + Python "
          "callback timing)")
    print(f"  of which C bracketing:         {bracket * 1e6:6.2f} us")
    if a.nvtx:
        nv = (med["tracer+nvtx"] - med["tracer"]) / pushes
        nvp = ((med["tracer+nvtx, probes"] - med["tracer, probes"])
               - (med["tracer+nvtx"] - med["tracer"])) / probed
        print(f"--nvtx per push:                 {nv * 1e6:6.2f} us")
        print(f"--nvtx per probe span:           {nvp * 1e6:6.2f} us")
    return 0


if __name__ == "__main__":
    sys.exit(main())
