"""CPU cost of pipesight's samplers at a 100 ms interval, against a running target pipeline.

Each sampler runs alone in a fresh Python process for --seconds while the target runs; the
cost is that process's CPU time (user + system, from wait4) minus that of a baseline process
that imports the same modules and sleeps as long, as a share of one core. The sampling thread's
own CPU clock is reported beside it.

  .venv/bin/python bench/sampler_overhead.py [--seconds 20] [--interval 0.1] [--repeat 3]
  python3 bench/sampler_overhead.py --target cuda --only nvml     # on the GPU machine

Samplers: proc (always; "proc-before" is the /proc sampler at commit BEFORE, which opened and
read each thread's schedstat anew every sample), tegrastats (the real one on a Jetson; here the
test stand-in replaying the corpus log: its own CPU, in the process column, is tegrastats'
cost, not pipesight's; the sampling thread column is pipesight's), nvml
(where an NVIDIA driver is present). Target: a live gst-launch-1.0 pipeline with --queues
queues (one streaming thread each), light enough not to compete for the cores; the /proc
sampler's cost grows with the target's thread count. `--target cuda` (for the GPU machine, which
has no GStreamer) is instead a PyTorch process keeping the GPU busy with matrix products, so
that NVML has a process of its own to report.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEFORE = "937a416"  # the /proc sampler as the core shipped it, measured beside the current one
PROC_PATH = "src/pipesight/capture/proc_sampler.py"
FAKEBIN = REPO / "tests" / "fakebin"
STRESS = (REPO.parent / "shared" / "corpus" / "deepstream"
          / "tegrastats_orin_nano_gpu_burn_tegra_burn.log")


def target_cmd(queues: int) -> list[str]:
    """A live pipeline with `queues` queues: one streaming thread each, plus the source's."""
    cmd = ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
           "video/x-raw,width=320,height=240,framerate=30/1"]
    for _ in range(queues):
        cmd += ["!", "queue", "!", "identity"]
    return [*cmd, "!", "fakesink", "sync=true"]


CUDA_TARGET = ("import torch, time\n"
               "a = torch.randn(4096, 4096, device='cuda')\n"
               "while True:\n"
               "    for _ in range(20): a = (a @ a).clamp_(-1, 1)\n"
               "    torch.cuda.synchronize(); time.sleep(0.01)\n")


def child(kind: str, pid: int, seconds: float, interval: float, out: str) -> int:
    """Runs one sampler (or none: 'baseline') for `seconds`; prints its thread's CPU ns."""
    sys.path.insert(0, str(REPO / "src"))
    from pipesight.capture.nvml_sampler import NvmlSampler
    from pipesight.capture.proc_sampler import ProcSampler
    from pipesight.capture.tegrastats_sampler import TegrastatsSampler

    path = Path(out)
    if kind == "baseline":
        time.sleep(seconds)
        print(0, 0)
        return 0
    if kind.startswith("proc"):
        if kind == "proc-before":  # the implementation before the descriptor cache
            import types

            src = subprocess.run(["git", "-C", str(REPO), "show", f"{BEFORE}:{PROC_PATH}"],
                                 capture_output=True, text=True, check=True).stdout
            mod = types.ModuleType("proc_sampler_before")
            exec(compile(src, "proc_sampler_before.py", "exec"), mod.__dict__)
            ProcSampler = mod.ProcSampler
        s = ProcSampler(pid, path, interval)
        t0 = time.process_time_ns()  # no clock of its own: the process' CPU while it runs
        s.start()
        time.sleep(seconds)
        s.stop()
        print(time.process_time_ns() - t0, s.samples)
        return 0
    sampler = (NvmlSampler(path, interval, pid) if kind == "nvml"
               else TegrastatsSampler(path, interval))
    if not sampler.open():
        print(f"skip {sampler.note}")
        return 3
    sampler.start()
    time.sleep(seconds)
    sampler.stop()
    print(sampler.cpu_ns, sampler.samples)
    return 0


def run_child(kind: str, pid: int, seconds: float, interval: float, env: dict) -> tuple:
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.Popen([sys.executable, __file__, "--child", kind, str(pid), str(seconds),
                              str(interval), str(Path(d) / f"{kind}.jsonl")],
                             stdout=subprocess.PIPE, text=True, env=env)
        _, status, ru = os.wait4(p.pid, 0)
        out = p.stdout.read().strip() if p.stdout else ""
        p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode == 3 or out.startswith("skip"):
        return None, None, out
    cpu_ns, samples = out.splitlines()[-1].split()
    return ru.ru_utime + ru.ru_stime, int(cpu_ns) / 1e9, int(samples)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--interval", type=float, default=0.1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--queues", type=int, default=3, help="streaming threads in the target")
    ap.add_argument("--target", choices=("gst", "cuda"), default="gst")
    ap.add_argument("--only", help="comma-separated samplers to measure (default: all)")
    ap.add_argument("--child", nargs=5, metavar=("KIND", "PID", "S", "INTERVAL", "OUT"))
    a = ap.parse_args()
    if a.child:
        kind, pid, secs, interval, out = a.child
        return child(kind, int(pid), float(secs), float(interval), out)
    if a.target == "gst" and shutil.which("gst-launch-1.0") is None:
        print("needs gst-launch-1.0 for the target pipeline (or --target cuda)", file=sys.stderr)
        return 2
    env = dict(os.environ)
    if not shutil.which("tegrastats") and STRESS.exists():
        env["PATH"] = f"{FAKEBIN}{os.pathsep}{env.get('PATH', '')}"
        env["PIPESIGHT_FAKE_TEGRASTATS"] = str(STRESS)
    cmd = (target_cmd(a.queues) if a.target == "gst"
           else [sys.executable, "-c", CUDA_TARGET])
    target = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0 if a.target == "gst" else 8.0)  # the CUDA target initialises first
    threads = len(os.listdir(f"/proc/{target.pid}/task"))
    kinds = ["baseline", "proc", "proc-before", "tegrastats", "nvml"]
    if a.only:
        kinds = ["baseline", *(k for k in kinds[1:] if k in a.only.split(","))]
    results: dict[str, list[tuple]] = {k: [] for k in kinds}
    try:
        for _ in range(a.repeat):
            for k in kinds:  # interleaved, so that drift in the machine's load hits all alike
                results[k].append(run_child(k, target.pid, a.seconds, a.interval, env))
    finally:
        target.terminate()
        target.wait()
    base = sum(r[0] for r in results["baseline"]) / a.repeat
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d} {platform.node()} {platform.processor() or ''} "
          f"{os.cpu_count()} CPUs, Python {platform.python_version()}; target "
          f"{threads} threads; {a.seconds:g} s x {a.repeat} runs at {a.interval * 1000:g} ms")
    print(f"baseline process (imports + sleep): {base:.3f} s CPU per run")
    print("| sampler | samples/run | process CPU above baseline | % of one core | "
          "sampling thread CPU | % of one core |")
    print("|---|---|---|---|---|---|")
    for k in kinds[1:]:
        rs = [r for r in results[k] if r[0] is not None]
        if not rs:
            why = next((r[2] for r in results[k]), "")
            print(f"| {k} | skipped: {why.removeprefix('skip ')} | | | | |")
            continue
        extra = sum(r[0] for r in rs) / len(rs) - base
        thread = sum(r[1] for r in rs) / len(rs)
        n = sum(r[2] for r in rs) / len(rs)
        print(f"| {k} | {n:.0f} | {extra:.3f} s | {100 * extra / a.seconds:.2f}% | "
              f"{thread:.3f} s | {100 * thread / a.seconds:.2f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
