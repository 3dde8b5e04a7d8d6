"""profile in a user's terminal (issue 17, items 1 and 2): Ctrl-C keeps the answer, a progress
line while it runs, the program's own output shown and kept, nothing mistaken for a profile.
And names from a pipeline reach the terminal as text, never as control sequences."""

from __future__ import annotations

import json
import shutil
import time

import pytest

from conftest import needs_gst
from harden_helpers import on_terminal, run

MOV = ["videotestsrc", "!", "video/x-raw,width=320,height=240", "!", "jpegenc", "!", "qtmux",
       "!", "filesink"]


def _has_qtmux() -> bool:
    import subprocess

    if shutil.which("gst-inspect-1.0") is None:
        return False
    return subprocess.run(["gst-inspect-1.0", "qtmux"], capture_output=True).returncode == 0


@needs_gst
def test_ctrl_c_on_a_terminal_keeps_the_answer(tmp_path):
    if not _has_qtmux():
        pytest.skip("qtmux (gst-plugins-good) not installed")
    d, out = tmp_path / "run", tmp_path / "out.mov"
    t = on_terminal(["profile", "-o", str(d), "--", "gst-launch-1.0", *MOV,
                     f"location={out}"], interrupt_after_s=2.5, until="into sinks")
    assert t.returncode == 130, t.output[-2000:]
    assert "Bottleneck" in t.output and "Traceback" not in t.output
    assert "stopped by SIGINT" in t.output
    assert (d / "verdict.json").exists() and (d / "report.html").exists()
    v = json.loads((d / "verdict.json").read_text())
    assert v["throughput_fps"] and v["throughput_fps"] > 0
    m = json.loads((d / "manifest.json").read_text())
    assert m["interrupted"] == "SIGINT" and m["ended_by"] == "interrupted by the user"
    assert not m["failed"]
    # EOS reached the muxer: it wrote its index (moov) and the file is complete
    assert b"moov" in out.read_bytes()
    # the progress line was drawn while it ran
    assert "buffers/s into sinks" in t.output and "busiest:" in t.output


@needs_gst
def test_a_second_ctrl_c_stops_at_once(tmp_path):
    """A pipeline that never reaches PLAYING ignores the EOS of the first Ctrl-C; the second
    one does not wait out --grace, and the answer is still kept."""
    d = tmp_path / "run"
    t0 = time.monotonic()
    t = on_terminal(["profile", "-o", str(d), "--grace", "60", "--", "gst-launch-1.0",
                     "videotestsrc", "!", "tee", "name=t", "t.", "!", "fakesink", "t.", "!",
                     "fakesink"], interrupt_after_s=[1.5, 3.0])
    assert time.monotonic() - t0 < 40, "the second Ctrl-C did not wait out --grace 60"
    assert t.returncode == 130, t.output[-2000:]
    m = json.loads((d / "manifest.json").read_text())
    assert m["interrupted"] == "SIGINT"
    assert m["ended_by"] in ("stopped at once at a second interrupt",
                             "killed at a second interrupt")
    assert (d / "verdict.json").exists()


@needs_gst
def test_no_progress_line_when_not_on_a_terminal(tmp_path):
    r = run("profile", "-o", str(tmp_path / "run"), "--duration", "2.5", "--", "gst-launch-1.0",
            "videotestsrc", "!", "fakesink")
    assert r.returncode == 0, r.stderr
    assert "\x1b[K" not in r.stdout + r.stderr and "into sinks" not in r.stdout + r.stderr


@needs_gst
def test_the_programs_own_output_is_shown_and_kept(tmp_path):
    d = tmp_path / "run"
    r = run("profile", "-o", str(d), "--", "gst-launch-1.0", "videotestsrc", "!",
            "nosuchelement", "!", "fakesink")
    assert r.returncode == 3
    said = 'no element "nosuchelement"'
    assert said in r.stderr, "gst-launch-1.0's own message reaches the user"
    assert said in (d / "stderr.log").read_text()
    # stdout holds pipesight's answer alone (here JSON): the program's stdout goes to stderr
    d2 = tmp_path / "run2"
    r = run("profile", "-o", str(d2), "--json", "--duration", "1", "--", "gst-launch-1.0",
            "videotestsrc", "!", "fakesink")
    assert r.returncode == 0, r.stderr
    json.loads(r.stdout)
    assert "Setting pipeline to PAUSED" in r.stderr
    assert "Setting pipeline to PAUSED" in (d2 / "stdout.log").read_text()


def test_a_command_that_runs_no_gstreamer_is_not_a_profile(tmp_path):
    d = tmp_path / "run"
    r = run("profile", "-o", str(d), "--", "true")
    assert r.returncode == 3
    assert "nothing ran through GStreamer" in r.stderr
    r = run("analyze", str(d))
    assert r.returncode == 4


@needs_gst
def test_names_from_the_pipeline_reach_the_terminal_as_text(tmp_path):
    evil = "e\x1b]0;pwned\x07\u202ex\x1b[31m\x9b2J"
    d = tmp_path / "run"
    r = run("profile", "-o", str(d), "--duration", "1.5", "--", "gst-launch-1.0", "videotestsrc",
            f"name={evil}", "!", "video/x-raw,width=64,height=48", "!", "fakesink")
    assert r.returncode == 0, r.stderr
    for out in (r.stdout, run("analyze", str(d)).stdout):
        assert "\x1b" not in out and "\u202e" not in out and "\x9b" not in out
        assert "\x07" not in out
        assert "e\\x1b]0;pwned\\x07\\u202ex" in out
    # on a terminal rich colours the verdict, and the name still cannot act
    t = on_terminal(["analyze", str(d)])
    assert t.returncode == 0
    assert "\x1b]0;" not in t.output and "\u202e" not in t.output and "\x9b" not in t.output
    assert "e\\x1b]0;pwned" in t.output


def test_profile_help_documents_ctrl_c_and_exit_status():
    r = run("profile", "--help")
    assert r.returncode == 0
    text = " ".join(r.stdout.split())
    assert "Ctrl-C stops COMMAND the way --duration does" in text
    assert "130 stopped by Ctrl-C" in text and "127 command not found" in text
