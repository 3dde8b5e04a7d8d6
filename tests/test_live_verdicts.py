"""Live sources on real pipelines: a synchronising sink that waits for a live source's buffers
is the pipeline keeping up, not a stage to fix; "keeps up" is checked (the sink waited for
every buffer, no gaps, nothing dropped), late buffers make the fix latency, and nothing is
promised above the source's rate."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import needs_gst
from verdict_invariants import contradictions

pytestmark = [needs_gst, pytest.mark.slow]

LIVE = ["videotestsrc", "is-live=true", "pattern=black", "!",
        "video/x-raw,width=320,height=240,framerate=30/1", "!", "queue", "!"]
# two stages of 30 ms each: the rate is kept (each < 33 ms a frame), but a buffer takes 60 ms
# from capture to the sink, more than the 33 ms + 20 ms (processing-deadline) latency
SLOW = ["identity", "sleep-time=30000", "!", "queue", "!", "identity", "sleep-time=30000", "!"]


def _profile(tmp_path, *desc: str) -> dict:
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o",
                        str(tmp_path / "run"), "--duration", "4", "--delay", "1", "--json", "--",
                        "gst-launch-1.0", *desc], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert contradictions(v) == [], v["bottleneck"]["summary"]
    return v


def test_a_syncing_sink_waiting_for_a_live_source_is_keeping_up(tmp_path):
    v = _profile(tmp_path, *LIVE, "jpegenc", "!", "fakesink", "sync=true")
    b = v["bottleneck"]
    # the old verdict: sink-sync, "set sync=false", "If removed: up to 316.7 fps"
    assert (b["kind"], b["element"]) == ("live-source", "videotestsrc0"), b["summary"]
    assert b["confidence"] == "confirmed"
    assert not any(f["action"] == "sync-false" for f in b["fixes"])
    assert b["predicted_fps"] is None
    h = b["headroom"]
    assert h["source_fps"] == 30 and h["capacity_fps"] > 3 * 30 and h["ratio"] > 3
    assert h["more_streams"] >= 1 and h["cores_per_stream"] > 0
    late = next(e for e in next(f for f in v["findings"] if f["stance"] == "verdict")["evidence"]
                if e["metric"] == "sink_late_pct[fakesink0]")
    assert late["value"] <= 5


def test_late_buffers_make_the_fix_latency_not_sync_false(tmp_path):
    v = _profile(tmp_path, *LIVE, *SLOW, "fakesink", "sync=true")
    b = v["bottleneck"]
    assert (b["kind"], b["element"]) == ("sink-sync", "fakesink0"), b["summary"]
    assert next(f for f in v["findings"] if f["stance"] == "verdict")["code"] == "live-late"
    actions = [f["action"] for f in b["fixes"]]
    assert actions[0] == "latency" and "sync-false" not in actions
    assert all(f["predicted_fps"] <= 30 and f["bound"] == "upper" for f in b["fixes"])


def test_the_latency_fix_applied_keeps_up(tmp_path):
    v = _profile(tmp_path, *LIVE, *SLOW, "fakesink", "sync=true",
                 "processing-deadline=300000000")
    assert v["bottleneck"]["kind"] == "live-source", v["bottleneck"]["summary"]
    # two stages busy 90% at the source's rate: little headroom, said as such
    assert v["bottleneck"]["headroom"]["ratio"] < 1.3


def test_a_stage_slower_than_the_source_is_named_and_capped_at_the_source(tmp_path):
    v = _profile(tmp_path, *LIVE, "identity", "sleep-time=45000", "!", "fakesink", "sync=true")
    b = v["bottleneck"]
    assert (b["kind"], b["element"]) == ("element", "identity0"), b["summary"]
    assert all(f["predicted_fps"] is None or f["predicted_fps"] <= 30.5 for f in b["fixes"])
    assert any(f["code"] == "live-falls-behind" for f in v["findings"])
