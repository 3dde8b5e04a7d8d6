"""Advice that names the knob (issue 17, item 5): the bottleneck element's own properties,
read from what the tracer recorded or, failing that, from the pipeline graphs GStreamer dumped;
a queue advised only where none is; a hand-over never named as the busy element. Real
pipelines; whether following the advice helps is measured in bench/knob_advice.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.knobs import TABLE, knobs_for
from verdict_invariants import contradictions

pytestmark = [needs_gst, pytest.mark.slow]
CORES = len(os.sched_getaffinity(0))


def profile(out: Path, *desc: str, duration: str = "3") -> dict:
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(out),
                        "--duration", duration, "--delay", "0.5", "--json", "--",
                        "gst-launch-1.0", *desc], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert contradictions(v) == [], v["bottleneck"]["summary"]
    return v


def analyze(run: Path) -> dict:
    r = subprocess.run([sys.executable, "-m", "pipesight", "analyze", "--json", str(run)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def convert(n_threads: int | None) -> list[str]:
    prop = [f"n-threads={n_threads}"] if n_threads is not None else []
    return ["videotestsrc", "pattern=black", "!",
            "video/x-raw,format=I420,width=1920,height=1080", "!", "videoconvert", *prop, "!",
            "video/x-raw,format=BGRx", "!", "fakesink", "sync=false"]


def knob_fixes(v: dict) -> list[dict]:
    return [f for f in v["bottleneck"]["fixes"] if f["action"] == "set-property"]


def strip_props(run: Path) -> None:
    """The trace without the tracer's property records: what is left is the DOT dumps."""
    for p in (run / "trace").glob("defs-*.jsonl"):
        p.write_text("".join(ln for ln in p.read_text().splitlines(keepends=True)
                             if '"t":"props"' not in ln))


@pytest.mark.skipif(CORES < 2, reason="more threads need more than one core")
def test_videoconvert_is_told_its_n_threads(tmp_path):
    v = profile(tmp_path / "run", *convert(None))
    b = v["bottleneck"]
    assert (b["kind"], b["element"]) == ("element", "videoconvert0"), b["summary"]
    first = b["fixes"][0]
    assert first["action"] == "set-property"
    assert first["text"].startswith(f"Set n-threads={CORES} on videoconvert0 (now 1): ")
    # more threads are predicted: the split of its time, capped by the other stages and CPUs
    assert first["predicted_fps"] and first["bound"] == "rate"
    assert first["predicted_fps"] >= v["throughput_fps"]
    assert f"split over {CORES} threads instead of 1" in first["basis"]
    # the same from the DOT dumps alone (n-threads at its default is not in them)
    strip_props(tmp_path / "run")
    again = knob_fixes(analyze(tmp_path / "run"))
    assert again and again[0]["text"].startswith(f"Set n-threads={CORES} on videoconvert0 "
                                                 "(now 1)")


@pytest.mark.skipif(CORES < 2, reason="more threads need more than one core")
def test_a_knob_already_turned_is_not_advised(tmp_path):
    v = profile(tmp_path / "run", *convert(CORES))
    assert not [f for f in knob_fixes(v) if "n-threads" in f["text"]], v["bottleneck"]["fixes"]
    strip_props(tmp_path / "run")  # the DOT dump records the non-default n-threads
    assert not [f for f in knob_fixes(analyze(tmp_path / "run")) if "n-threads" in f["text"]]


def test_a_queue_in_front_is_not_advised_again(tmp_path):
    # the queue advised before the encoder is there: its thread still carries a decoder after
    # it, so the split to advise is after the encoder, never before it again
    v = profile(tmp_path / "run", "videotestsrc", "pattern=black", "!",
                "video/x-raw,width=1280,height=720", "!", "queue", "!", "jpegenc", "!",
                "jpegdec", "!", "fakesink", "sync=false")
    b = v["bottleneck"]
    assert (b["kind"], b["element"]) == ("element", "jpegenc0"), b["summary"]
    actions = [f["action"] for f in b["fixes"]]
    assert "queue-before" not in actions, b["fixes"]
    after = next(f for f in b["fixes"] if f["action"] == "queue-after")
    assert after["text"].startswith("Put a queue after jpegenc0: it shares streaming thread "
                                    "queue0:src with work downstream of it")
    assert after["predicted_fps"] and after["predicted_fps"] > v["throughput_fps"]


def test_a_muxer_handing_over_is_never_the_busy_element(tmp_path):
    v = profile(tmp_path / "run", "audiotestsrc", "num-buffers=20000", "!", "audioconvert",
                "!", "lamemp3enc", "!", "mp4mux", "!", "filesink",
                f"location={tmp_path / 'out.mp4'}", duration="4")
    handovers = {q["element"] for q in v["queues"]}
    assert "mp4mux0" in handovers
    assert v["bottleneck"]["element"] not in handovers, v["bottleneck"]["summary"]
    for f in v["findings"]:
        assert not (f["code"] == "element-bound" and f["element"] in handovers), f["title"]


def test_every_knob_is_reachable_by_its_factory():
    for k in TABLE:
        for factory in k.factories:
            name = factory + "h264" if factory.endswith("_") else factory
            assert k in knobs_for(name), (factory, k.prop)
    assert [k.prop for k in knobs_for("avdec_h265", "threads")] == ["max-threads"]
    interval = next(k for k in TABLE if k.prop == "interval")
    assert "accuracy trade-off" in interval.why
