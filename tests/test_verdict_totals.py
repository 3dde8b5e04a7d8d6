"""verdict.json carries whole-run buffers and bytes per pad and per element beside the windowed
ones, and they equal what gst-stats-1.0 prints for the same run: from a stock tracer log read
by `pipesight analyze`, and from a `pipesight profile` run that also logged the stats tracer
(pipesight's own records against GStreamer's on the same buffers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from gst_stats_output import GstStats
from gst_stats_output import run as gst_stats
from pipesight.lab import media

pytestmark = [needs_gst, pytest.mark.skipif(shutil.which("gst-stats-1.0") is None,
                                            reason="gst-stats-1.0 not installed")]


def _pipesight(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=300)


def _agree(verdict: dict, st: GstStats, least: int = 6) -> None:
    pads = {p["pad"][:30].rstrip(): p for p in verdict["pads"]}
    assert len(st.pads) >= least
    for label, theirs in st.pads.items():
        assert pads[label]["buffers_total"] == theirs["buffers"], label
    elements = {r["name"]: r for r in verdict["elements"]}
    assert len(st.elements) >= least
    for name, theirs in st.elements.items():
        mine = elements[name]
        assert (mine["buffers_in_total"], mine["buffers_out_total"]) == \
            (theirs["in"], theirs["out"]), name
        assert (mine["bytes_in_total"], mine["bytes_out_total"]) == \
            (theirs["bytes_in"], theirs["bytes_out"]), name
    # the windowed counts stay what they were: inside the window, so at most the totals
    for r in verdict["elements"]:
        assert r["buffers_in"] <= r["buffers_in_total"], r["name"]


def test_stock_tracer_log_totals_equal_gst_stats(tmp_path):
    mp4 = media.ensure("h264_mp4")
    log = tmp_path / "gst.log"
    env = dict(os.environ, GST_TRACERS="stats", GST_DEBUG="GST_TRACER:7",
               GST_DEBUG_FILE=str(log), GST_DEBUG_NO_COLOR="1")
    desc = (f"filesrc location={mp4} ! qtdemux ! h264parse ! tee name=t "
            "t. ! queue ! fakesink "
            "t. ! queue ! ( name=decbin avdec_h264 ! videoconvert ) ! fakesink")
    subprocess.run(["gst-launch-1.0", "-q", *desc.split()], env=env, check=True, timeout=120)
    r = _pipesight("analyze", str(log), "--json")
    assert r.returncode == 0, r.stderr
    _agree(json.loads(r.stdout), gst_stats(log))


def _profile_with_stats(run: Path, desc: str) -> dict:
    r = _pipesight("profile", "--tracers", "pipesight;stats", "-o", str(run), "--json", "--",
                   "gst-launch-1.0", *desc.split())
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_pipesight_run_totals_equal_gst_stats_on_the_same_run(tmp_path):
    # 240 buffers: the windowed counts of this run were 239 (and 0 for a sink outside it)
    desc = ("videotestsrc num-buffers=240 ! video/x-raw,width=320,height=240 ! tee name=t "
            "t. ! queue ! jpegenc ! fakesink t. ! queue ! videoconvert ! fakesink")
    v = _profile_with_stats(tmp_path / "run", desc)
    st = gst_stats(tmp_path / "run" / "gst.log")
    assert st.elements["jpegenc0"]["in"] == 240
    _agree(v, st)


def test_pipesight_run_totals_with_a_demuxer(tmp_path):
    mp4 = media.ensure("h264_mp4")
    v = _profile_with_stats(tmp_path / "run",
                            f"filesrc location={mp4} ! qtdemux ! h264parse ! fakesink")
    _agree(v, gst_stats(tmp_path / "run" / "gst.log"), least=3)
