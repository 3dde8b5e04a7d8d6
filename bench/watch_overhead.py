"""What `pipesight watch` costs for always-on use: the tracer in ring mode per pad push, and
the watching process (ring consumer, interval analysis, Prometheus exporter being scraped) per
second, against a live pipeline at 1,000 buffers/s on each of its streaming threads.

  .venv/bin/python bench/watch_overhead.py [--seconds 120] [--interval 10] [--runs 3]

Part 1: `fakesrc num-buffers=100000 sizemax=16` through 10 `identity` into `fakesink`
(1,100,000 pushes), without tracer, with the tracer writing a file (profile) and a ring
(watch); CPU of gst-launch-1.0 (user + system), median of --runs, per push.
Part 2: a live pipeline with three streaming threads at 1,000 buffers/s each (5 pushes per
buffer in all), traced into a ring, with `pipesight watch --attach` judging it every
--interval and its Prometheus endpoint scraped every 15 s; the watch process's CPU (from
/proc) over --seconds after a warm-up of one interval, and its resident memory.
Overhead per streaming thread = (tracer CPU for that thread's pushes + the watch process's CPU
shared by the threads) as a share of one core; target at most 1%.
--soak MIN: instead, the same pipeline and watch for MIN minutes; after the first minute and at
the end: the watch process's resident memory, the disk its run and ring folders take, its CPU
and the traced pipeline's CPU per pad push over the minute before (target: the end within 10%
of the first minute). An untraced twin of the pipeline runs beside it all along: a shared
machine's load moves both, so the traced pipeline's cost is also given against the twin's
(the ratio, and the difference: what tracing adds per push), each minute.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PIPESIGHT = [sys.executable, "-m", "pipesight"]
PUSHES = ["gst-launch-1.0", "-q", "fakesrc", "num-buffers=100000", "sizemax=16",
          *[x for _ in range(10) for x in ("!", "identity")], "!", "fakesink"]
LIVE = ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "pattern=black", "!",
        "video/x-raw,width=32,height=24,framerate=1000/1", "!", "queue", "!", "identity", "!",
        "queue", "!", "fakesink", "sync=false"]
THREADS, PUSHES_PER_BUFFER = 3, 5
# --one-thread: the source's thread alone (capsfilter, fakesink on it: 2 pushes a buffer)
LIVE_ONE = [*LIVE[:7], "!", "fakesink", "sync=false"]


def tracer_dir() -> str:
    from pipesight.tracer.build import plugin_dir

    d, note = plugin_dir()
    if d is None:
        sys.exit(f"no tracer: {note}")
    return str(d)


def child_cpu(cmd: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def part1(runs: int, tdir: str, tmp: Path) -> dict[str, float]:
    base = {**os.environ, "GST_PLUGIN_PATH": tdir}
    envs = {
        "none": {**base, "GST_TRACERS": ""},
        "file (profile)": {**base, "GST_TRACERS": "pipesight",
                           "PIPESIGHT_TRACE_DIR": str(tmp / "file")},
        "ring (watch)": {**base, "GST_TRACERS": "pipesight",
                         "PIPESIGHT_TRACE_DIR": str(tmp / "ring"), "PIPESIGHT_RING_MB": "64"},
    }
    for d in ("file", "ring"):
        (tmp / d).mkdir(exist_ok=True)
    cpu: dict[str, list[float]] = {k: [] for k in envs}
    for _ in range(runs):
        for k, env in envs.items():  # interleaved: the machine's drift hits all alike
            cpu[k].append(child_cpu(PUSHES, env))
            for f in (tmp / "file").glob("*"):
                f.unlink()
    med = {k: statistics.median(v) for k, v in cpu.items()}
    print("| tracer | CPU s (median) | added per push |")
    print("|---|---|---|")
    out = {}
    for k, v in med.items():
        per = None if k == "none" else (v - med["none"]) / 1_100_000 * 1e6
        if per is not None:
            out[k] = per
        print(f"| {k} | {v:.2f} | {'' if per is None else f'{per:.2f} µs'} |")
    return out


def watched(ring: Path, run: Path, interval: float, tdir: str, twin: bool = False
            ) -> tuple[subprocess.Popen, subprocess.Popen | None, subprocess.Popen, int]:
    """The live pipeline traced into ``ring`` (and, with ``twin``, an untraced copy of it),
    and `pipesight watch --attach` on the ring with a Prometheus endpoint: the processes and
    the endpoint's port."""
    env = {**os.environ, "GST_PLUGIN_PATH": tdir, "GST_TRACERS": "pipesight",
           "PIPESIGHT_TRACE_DIR": str(ring), "PIPESIGHT_RING_MB": "64"}
    ring.mkdir()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    pipe = subprocess.Popen(LIVE, env=env)
    copy = subprocess.Popen(LIVE) if twin else None  # what the machine does to it alone
    time.sleep(1)
    watch = subprocess.Popen([*PIPESIGHT, "watch", "--attach", str(ring), "-o", str(run),
                              "--interval", str(interval), "--quiet", "--prometheus",
                              f"127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    return pipe, copy, watch, port


def part2(seconds: float, interval: float, tdir: str, tmp: Path, per_push_us: float) -> None:
    pipe, _, watch, port = watched(tmp / "ring2", tmp / "run", interval, tdir)
    try:
        time.sleep(interval + 3)  # imports, the first interval
        c0, p0, t0 = proc_cpu(watch.pid), proc_cpu(pipe.pid), time.monotonic()
        rss0 = rss_mib(watch.pid)
        next_scrape = 0.0
        while time.monotonic() - t0 < seconds:
            if time.monotonic() >= next_scrape:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics") as r:
                    r.read()
                next_scrape = time.monotonic() + 15
            time.sleep(0.5)
        c1, p1, t1 = proc_cpu(watch.pid), proc_cpu(pipe.pid), time.monotonic()
        rss1 = rss_mib(watch.pid)
    finally:
        watch.send_signal(signal.SIGINT)
        watch.wait(60)
        pipe.terminate()
        pipe.wait(10)
    secs = t1 - t0
    watch_pct = 100 * (c1 - c0) / secs
    tracer_pct = 100 * 1000 * PUSHES_PER_BUFFER * per_push_us / 1e6
    print(f"\nwatch process: {c1 - c0:.2f} s CPU over {secs:.0f} s = {watch_pct:.2f}% of a core; "
          f"resident memory {rss0:.0f} MiB after the first interval, {rss1:.0f} MiB at the end; "
          f"traced pipeline {100 * (p1 - p0) / secs:.1f}% of a core")
    print(f"tracer: {1000 * PUSHES_PER_BUFFER} pushes/s x {per_push_us:.2f} µs = "
          f"{tracer_pct:.2f}% of a core")
    print(f"per streaming thread ({THREADS} at 1,000 buffers/s): "
          f"{(watch_pct + tracer_pct) / THREADS:.2f}% of a core (target <= 1%)")


def du(*dirs: Path) -> int:
    return sum(f.stat().st_blocks * 512 for d in dirs for f in d.rglob("*") if f.is_file())


def soak(minutes: float, interval: float, tdir: str, tmp: Path) -> None:
    ring, run = tmp / "ring3", tmp / "run3"
    pipe, twin, watch, port = watched(ring, run, interval, tdir, twin=True)
    assert twin is not None
    rows = []
    # rows are printed as they come: a soak of hours shows its progress, and what it measured
    # before an interruption is not lost
    print("| minute | watch RSS MiB | run + ring on disk MiB | watch CPU % of a core | "
          "traced pipeline CPU per push µs | untraced twin µs | traced / twin | "
          "traced − twin µs |")
    print("|---|---|---|---|---|---|---|---|", flush=True)
    try:
        start = time.monotonic()
        last = (start, proc_cpu(watch.pid), proc_cpu(pipe.pid), proc_cpu(twin.pid))
        marks = [60.0 * k for k in range(1, int(minutes) + 1)]
        next_scrape = start + interval + 3  # once it serves
        while marks:
            now = time.monotonic()
            if now >= next_scrape:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as r:
                    r.read()
                next_scrape = now + 15
            if now - start >= marks[0]:
                marks.pop(0)
                t, wc, pc, tc = now, proc_cpu(watch.pid), proc_cpu(pipe.pid), proc_cpu(twin.pid)
                secs = t - last[0]
                per_push = 1e6 / secs / (1000 * PUSHES_PER_BUFFER)
                rows.append((round((t - start) / 60), rss_mib(watch.pid), du(run, ring) / 2**20,
                             100 * (wc - last[1]) / secs, (pc - last[2]) * per_push,
                             (tc - last[3]) * per_push))
                last = (t, wc, pc, tc)
                m, rss, disk, wcpu, per, base = rows[-1]
                if m == 1 or m % 5 == 0 or not marks:
                    print(f"| {m} | {rss:.1f} | {disk:.1f} | {wcpu:.2f} | {per:.2f} | "
                          f"{base:.2f} | {per / base:.3f} | {per - base:.2f} |", flush=True)
            time.sleep(0.5)
    finally:
        watch.send_signal(signal.SIGINT)
        watch.wait(60)
        for p in (pipe, twin):
            p.terminate()
            p.wait(10)
    lines = len((run / "intervals.jsonl").read_text().splitlines())
    first, end = rows[0], rows[-1]
    print(f"end / first minute: RSS {end[1] / first[1]:.3f}, disk {end[2] / first[2]:.3f}, "
          f"pipeline CPU per push {end[4] / first[4]:.3f}, against its untraced twin "
          f"{(end[4] / end[5]) / (first[4] / first[5]):.3f}; {lines} intervals judged")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--interval", type=float, default=10)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--soak", type=float, metavar="MIN", help="soak for MIN minutes instead")
    ap.add_argument("--one-thread", action="store_true",
                    help="part 2 on a pipeline of one streaming thread")
    a = ap.parse_args()
    if a.one_thread:
        global LIVE, THREADS, PUSHES_PER_BUFFER
        LIVE, THREADS, PUSHES_PER_BUFFER = LIVE_ONE, 1, 2
    tdir = tracer_dir()
    print(f"# {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC {platform.node()} "
          f"{platform.processor() or platform.machine()} {os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory() as t:
        tmp = Path(t)
        if a.soak:
            soak(a.soak, a.interval, tdir, tmp)
            return 0
        per = part1(a.runs, tdir, tmp)
        part2(a.seconds, a.interval, tdir, tmp, per["ring (watch)"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
