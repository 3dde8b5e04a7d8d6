"""A window too short to judge gets no verdict (issue 17, item 3): under 0.5 s, or under 10
buffers where the rate is counted, the verdict is window-too-short: it says what the window
held and how to get a longer one, and names no element, on real short pipelines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.lab import runner
from pipesight.lab.scenarios import by_name
from pipesight.metrics.window import MIN_BUFFERS, MIN_STEADY_S
from verdict_invariants import contradictions

pytestmark = [needs_gst, pytest.mark.slow]


def profile(tmp_path: Path, *argv: str, delay: str | None = None) -> dict:
    extra = ["--delay", delay] if delay else []
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o",
                        str(tmp_path / "run"), *extra, "--json", "--", *argv],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def short(v: dict) -> dict:
    """The window-too-short verdict, checked for what every such verdict says."""
    b = v["bottleneck"]
    assert (b["kind"], b["code"], b["element"], b["confidence"]) == \
        ("unknown", "window-too-short", None, "none"), b["summary"]
    assert "too short to name a bottleneck" in b["summary"]
    assert f"at least {MIN_STEADY_S:g} s and {MIN_BUFFERS} buffers" in b["summary"]
    assert "Profile a longer run" in b["summary"] and b["fixes"] == []
    # what the analyses saw stays, not weighed
    stages = [f for f in v["findings"] if f["kind"]]
    assert all(f["stance"] == "not-judged" and f["severity"] == "info" for f in stages)
    assert contradictions(v) == []
    return b


def test_the_decoder_labs_fixed_variant_gets_no_element_verdict(tmp_path):
    # the command: a 900-frame file parsed (not decoded) in a few hundredths of a
    # second got "Bottleneck: element queue1 ... Make queue1 cheaper"
    s = by_name("decoder")
    assert s is not None
    res = runner.run(s, tmp_path / "run", fixed=True)
    v = json.loads((res.run_dir / "verdict.json").read_text())
    short(v)
    assert v["window"]["end_s"] - v["window"]["start_s"] < MIN_STEADY_S
    finding = next(f for f in v["findings"] if f["code"] == "window-too-short")
    assert finding["stance"] == "verdict"
    assert {e["metric"] for e in finding["evidence"]} >= {"window_s", "buffers_counted"}
    r = subprocess.run([sys.executable, "-m", "pipesight", "analyze", str(res.run_dir)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "Bottleneck: unknown (none)" in r.stdout and "too short" in r.stdout
    assert "Bottleneck: element" not in r.stdout


def test_few_buffers_over_a_long_enough_window(tmp_path):
    # nine frames at 10 fps: almost a second, but nine buffers is too few to judge
    v = profile(tmp_path, "gst-launch-1.0", "videotestsrc", "is-live=true", "num-buffers=9",
                "!", "video/x-raw,framerate=10/1,width=64,height=48", "!", "fakesink")
    b = short(v)
    assert f"(under {MIN_BUFFERS})" in b["summary"] and "0.8" in b["summary"]


def test_a_delay_that_eats_the_window_is_named(tmp_path):
    # 0.45 s of a live source: --delay 0.2 is applied (the whole run is under 0.5 s anyway)
    # and leaves a quarter of a second; the summary says a smaller --delay gives more
    v = profile(tmp_path, "gst-launch-1.0", "videotestsrc", "is-live=true", "num-buffers=14",
                "!", "video/x-raw,framerate=30/1,width=64,height=48", "!", "fakesink",
                delay="0.2")
    b = short(v)
    assert "a smaller --delay (it left out the first 0.2 s)" in b["summary"]


def test_a_long_enough_run_is_judged(tmp_path):
    v = profile(tmp_path, "gst-launch-1.0", "videotestsrc", "num-buffers=1500", "!",
                "video/x-raw,width=640,height=480", "!", "jpegenc", "!", "fakesink",
                "sync=false")
    assert v["bottleneck"]["code"] != "window-too-short"
    assert not any(f["code"] == "window-too-short" for f in v["findings"])
