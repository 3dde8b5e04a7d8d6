"""The cpu signal comes from the kernel's run-queue wait (schedstat run_delay) and from the
streaming threads' runnable demand, never from wall time minus CPU time: a thread that blocks
inside an element (a lock, a device, the GPU) is no demand for a core."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import needs_gst
from verdict_invariants import contradictions

pytestmark = [needs_gst, pytest.mark.slow]


def _profile(tmp_path, *argv: str, duration: str | None = None) -> dict:
    extra = ["--duration", duration] if duration else []
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o",
                        str(tmp_path / "run"), *extra, "--json", "--", *argv],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert contradictions(v) == [], v["bottleneck"]["summary"]
    return v


def test_one_busy_thread_is_not_the_cpus(tmp_path):
    # the command: it got "Bottleneck: cpu (suspected)" from the tracer's CPU clock
    # lagging behind (92% "preempted") with one busy thread on two cores
    v = _profile(tmp_path, "gst-launch-1.0", "videotestsrc", "num-buffers=6000", "!", "jpegenc",
                 "!", "fakesink")
    assert v["bottleneck"]["kind"] != "cpu", v["bottleneck"]["summary"]
    assert not any(f["code"] == "cpu-saturated" for f in v["findings"])
    assert (v["bottleneck"]["kind"], v["bottleneck"]["element"]) == ("element", "jpegenc0")


def test_threads_blocked_inside_elements_want_no_core(tmp_path):
    # six streaming threads, each busy all the time inside an element that sleeps (as a thread
    # in cudaStreamSynchronize would), on one core: busy, but not runnable
    branch = ["queue", "!", "identity", "sleep-time=20000", "!", "fakesink", "sync=false"]
    desc = ["videotestsrc", "is-live=false", "!", "video/x-raw,width=64,height=48", "!", "tee",
            "name=t"]
    for _ in range(6):
        desc += ["t.", "!", *branch]
    v = _profile(tmp_path, "taskset", "-c", "0", "gst-launch-1.0", *desc, duration="3")
    assert not any(f["code"] == "cpu-saturated" for f in v["findings"])
    busy = [t for t in v["threads"] if t["busy_pct"] >= 90]
    assert len(busy) >= 6  # the tracer sees them busy: the analysis must not count that as CPU
