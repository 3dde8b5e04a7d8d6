"""Worker threads an element starts are charged to it and shown (issue 17, item 5): libav's
frame threads carry the name of the streaming thread that started them; the /proc sampler
records when each thread started, and the threads table lists them as the decoder's. A real
avdec_h264 pipeline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.lab import media

pytestmark = [needs_gst, pytest.mark.slow]


def decode(tmp_path: Path, *props: str) -> tuple[dict, Path]:
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(out), "--json",
                        "--", "gst-launch-1.0", "filesrc",
                        f"location={media.ensure('h264_mp4')}", "!", "qtdemux", "!", "queue",
                        "!", "avdec_h264", *props, "!", "queue", "!", "fakesink", "sync=false"],
                       capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout), out


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2,
                    reason="libav starts frame threads only with more than one core")
def test_libav_frame_threads_are_the_decoders(tmp_path):
    v, run = decode(tmp_path)
    workers = [t for t in v["threads"] if t["role"] == "worker"]
    assert workers, v["threads"]
    for w in workers:
        assert w["owner"] == "avdec_h264-0" and w["top_element"] == "avdec_h264-0"
        assert w["started_by"] == "queue0:src"
        assert w["thread"] == f"queue0:src (worker {w['os_tid']})"
        assert w["proc_cpu_pct"] > 0 and w["busy_pct"] is None
        assert w["charged_because"]
    dec = next(e for e in v["elements"] if e["name"] == "avdec_h264-0")
    assert dec["worker_threads"] == len(workers)
    assert dec["worker_cpu_pct"] == pytest.approx(sum(w["proc_cpu_pct"] for w in workers),
                                                  abs=0.2 * len(workers))
    assert all(e["worker_threads"] == 0 for e in v["elements"] if e["name"] != "avdec_h264-0")
    # their CPU is charged in the verdict too, when the decoder is what limits throughput
    b = v["bottleneck"]
    if b["element"] == "avdec_h264-0" and "waiting" in b["summary"]:
        assert f"its {len(workers)} worker threads use" in b["summary"]
    # the sampler recorded when each thread started, on the kernel's tick
    recs = [json.loads(ln) for ln in (run / "samples" / "proc.jsonl").read_text().splitlines()]
    head = next(r for r in recs if r["t"] == "header")
    assert head["clk_tck"] > 0 and isinstance(head["boottime_minus_monotonic_ns"], int)
    starts = {r["tid"]: r["start_ticks"] for r in recs if r["t"] == "thread"}
    assert all(isinstance(starts[w["os_tid"]], int) for w in workers)
    # a worker starts after the process does
    assert min(starts[w["os_tid"]] for w in workers) >= min(starts.values())


def test_a_decoder_on_one_thread_has_no_workers(tmp_path):
    v, _ = decode(tmp_path, "max-threads=1")
    assert not [t for t in v["threads"] if t["role"] == "worker"], v["threads"]
    assert all(e["worker_threads"] == 0 for e in v["elements"])
