"""doctor on real hanging pipelines: it notices the stall, records every thread's native stack
and names the wait."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from conftest import needs_gst
from doctor_helpers import doctor, doctor_json, finding

pytestmark = [needs_gst, pytest.mark.slow,
              pytest.mark.skipif(shutil.which("eu-stack") is None,
                                 reason="eu-stack (elfutils) not installed")]


def run(tmp_path, *pipeline: str) -> dict:
    return doctor_json("-o", str(tmp_path / "run"), "--stall", "2", "--timeout", "30",
                       "--grace", "2", "--", "gst-launch-1.0", *pipeline, timeout=90)


def test_tee_without_queues_hangs_in_preroll(tmp_path):
    v = run(tmp_path, "videotestsrc", "!", "tee", "name=t", "!", "fakesink", "t.", "!",
            "fakesink")
    f = finding(v, "hang-preroll")
    assert "t has no queue" in f["title"] and f["subject"] == "fakesink0"
    ev = {e["source"] for e in f["evidence"]}
    assert {"eu-stack", "tracer", "watch"} <= ev and f["confidence"] == "confirmed"
    assert any("gst_base_sink_wait_preroll" in str(e["value"]) for e in f["evidence"])
    assert (tmp_path / "run" / "doctor" / "hang.json").exists()


def test_blocked_branch_fills_its_queue(tmp_path):
    v = run(tmp_path, "videotestsrc", "!", "tee", "name=t", "!", "queue", "!", "fakesink", "t.",
            "!", "queue", "max-size-buffers=3", "!", "appsink", "max-buffers=1")
    f = finding(v, "hang-app-sink")
    assert f["subject"] == "appsink0"
    assert "videotestsrc0:s is blocked pushing into a full queue, inside queue1.sink" in f["detail"]


def test_appsrc_that_never_pushes(tmp_path):
    v = run(tmp_path, "appsrc", "!", "fakesink")
    f = finding(v, "hang-app-source")
    assert "appsrc0" in f["title"]


def test_clock_wait_far_ahead(tmp_path):
    v = run(tmp_path, "videotestsrc", "timestamp-offset=3600000000000", "!", "fakesink",
            "sync=true")
    f = finding(v, "hang-clock")
    assert f["subject"] == "fakesink0"
    assert any("gst_clock_id_wait" in str(e["value"]) for e in f["evidence"])


def test_hang_run_directory_can_be_read_again(tmp_path):
    run(tmp_path, "appsrc", "!", "fakesink")
    again = doctor_json(str(tmp_path / "run"))
    assert finding(again, "hang-app-source")
    r = doctor("-o", str(tmp_path / "run2"), "--stall", "2", "--", "gst-launch-1.0", "appsrc",
               "!", "fakesink", timeout=90)
    assert r.returncode == 3 and "hung" in r.stderr
    assert Path(tmp_path / "run2" / "doctor.json").exists()
