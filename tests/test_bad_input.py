"""Bad input and failing targets: a clear one-line message, a non-zero exit, never a traceback,
and what was captured kept and analyzed as far as it goes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import needs_gst

PIPESIGHT = [sys.executable, "-m", "pipesight"]


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*PIPESIGHT, *args], capture_output=True, text=True, timeout=timeout)


def one_line_error(r: subprocess.CompletedProcess) -> str:
    assert "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("pipesight:")]
    assert lines, r.stderr
    return lines[-1]


def test_command_not_found(tmp_path):
    r = run("profile", "-o", str(tmp_path / "run"), "--", "no-such-command-xyz")
    assert r.returncode == 127
    assert "command not found: no-such-command-xyz" in one_line_error(r)


def test_no_command(tmp_path):
    r = run("profile", "-o", str(tmp_path / "run"))
    assert r.returncode == 2
    assert "no command given" in one_line_error(r)


@needs_gst
def test_existing_run_dir_is_never_overwritten(tmp_path):
    d = tmp_path / "run"
    d.mkdir()
    (d / "keep.txt").write_text("x")
    r = run("profile", "-o", str(d), "--", "gst-launch-1.0", "fakesrc", "num-buffers=1", "!",
            "fakesink")
    assert r.returncode == 2
    assert "already exists" in one_line_error(r)
    assert (d / "keep.txt").read_text() == "x"


@needs_gst
def test_pipeline_that_fails_to_start(tmp_path):
    d = tmp_path / "run"
    r = run("profile", "-o", str(d), "--", "gst-launch-1.0", "videotestsrc", "!",
            "no-such-element-xyz", "!", "fakesink")
    assert r.returncode == 3
    assert "the target failed" in one_line_error(r)
    v = json.loads((d / "verdict.json").read_text())
    codes = [f["code"] for f in v["findings"]]
    assert "target-failed" in codes
    failed = next(f for f in v["findings"] if f["code"] == "target-failed")
    assert any("no-such-element-xyz" in str(e["value"]) for e in failed["evidence"])
    # a failed run's verdict is the failure
    assert v["bottleneck"]["kind"] == "failed" and failed["stance"] == "verdict"
    assert (d / "manifest.json").exists()


@needs_gst
def test_pipeline_that_crashes_mid_run(tmp_path):
    d = tmp_path / "run"
    # --no-fault: gst-launch-1.0's own fault handler would spin instead of crashing
    script = ("gst-launch-1.0 -q --no-fault videotestsrc pattern=black ! "
              "video/x-raw,width=640,height=480 ! queue ! jpegenc ! fakesink & "
              "sleep 2.5; kill -SEGV $!; wait $!")
    r = run("profile", "-o", str(d), "--", "sh", "-c", script)
    assert r.returncode == 3
    assert "exited with status 139" in one_line_error(r)
    v = json.loads((d / "verdict.json").read_text())
    # the trace written before the crash survives (MAP_SHARED) and is analyzed
    assert v["throughput_fps"] and v["throughput_fps"] > 10
    # the verdict is the crash; what limited it while it ran is kept, not weighed
    assert v["bottleneck"]["kind"] == "failed"
    assert "While it ran" in v["bottleneck"]["summary"] and "jpegenc0" in v["bottleneck"]["summary"]
    busy = next(f for f in v["findings"] if f["code"] == "element-bound")
    assert busy["element"] == "jpegenc0" and busy["stance"] == "not-judged"
    events = list((d / "trace").glob("events-*.bin"))
    assert events and events[0].stat().st_size < 64 << 20  # trimmed after the crash
    r2 = run("analyze", str(d))
    assert r2.returncode == 4
    assert "failed" in one_line_error(r2)


@needs_gst
def test_pipeline_that_hangs_past_duration(tmp_path):
    d = tmp_path / "run"
    # a tee with two prerolling sinks and no queues never reaches PLAYING
    r = run("profile", "-o", str(d), "--duration", "2", "--grace", "2", "--", "gst-launch-1.0",
            "videotestsrc", "!", "tee", "name=t", "t.", "!", "fakesink", "t.", "!", "fakesink")
    assert r.returncode == 3
    msg = one_line_error(r)
    assert "did not stop" in msg and "--duration" in msg
    m = json.loads((d / "manifest.json").read_text())
    assert m["ended_by"] in ("terminated after hanging", "killed after hanging")
    assert (d / "verdict.json").exists()


def test_empty_log(tmp_path):
    f = tmp_path / "empty.log"
    f.write_bytes(b"")
    r = run("analyze", str(f))
    assert r.returncode == 2
    assert "empty" in one_line_error(r)


def test_not_a_gstreamer_log(tmp_path):
    f = tmp_path / "syslog.txt"
    f.write_text("Nov 27 01:02:03 host sshd[123]: Accepted publickey for root\n" * 50)
    r = run("analyze", str(f))
    assert r.returncode == 2
    assert "not a format pipesight reads" in one_line_error(r)


def test_binary_file(tmp_path):
    f = tmp_path / "blob.bin"
    f.write_bytes(bytes(range(256)) * 64)
    r = run("analyze", str(f))
    assert r.returncode == 2
    assert "binary" in one_line_error(r)


def test_missing_path(tmp_path):
    r = run("analyze", str(tmp_path / "nope.log"))
    assert r.returncode == 2
    assert "no such file" in one_line_error(r)


def test_truncated_tracer_log(tmp_path, corpus):
    src = (corpus / "gst" / "podborski_latency_traces.log").read_bytes()
    f = tmp_path / "cut.log"
    f.write_bytes(src[: len(src) // 2 + 17])  # cut in the middle of a record
    r = run("analyze", "--json", str(f))
    assert r.returncode == 4
    assert "truncated" in one_line_error(r)
    v = json.loads(r.stdout)  # still analyzed: JSON on stdout and nothing else
    assert v["latency"]["elements"], "the records before the cut were read"


@pytest.mark.parametrize("args", [["analyze"], ["lab", "run", "no-such-scenario"],
                                  ["profile", "--repeat", "0", "--", "true"],
                                  ["no-such-subcommand"]])
def test_usage_mistakes(args):
    r = run(*args)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr


@needs_gst
def test_pipesight_stopped_or_killed_leaves_nothing_running(tmp_path):
    import os
    import signal
    import time

    def start(d):
        p = subprocess.Popen([*PIPESIGHT, "profile", "-o", str(d), "--", "gst-launch-1.0",
                              "videotestsrc", "!", "fakesink"], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not list((d / "trace").glob("events-*.bin")) and time.monotonic() < deadline:
            time.sleep(0.1)
        events = next((d / "trace").glob("events-*.bin"))
        return p, int(events.stem.split("-")[1])

    def alive(pid):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split()[2] != "Z"

    # SIGTERM (a cancelled CI job): the pipeline is stopped like Ctrl-C and the run kept
    p, child = start(tmp_path / "term")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    time.sleep(0.5)
    assert not alive(child)
    assert json.loads((tmp_path / "term" / "manifest.json").read_text())["ended_by"]
    # SIGKILL: nothing can be cleaned up, but the command dies with pipesight
    p, child = start(tmp_path / "kill")
    p.kill()
    p.wait(timeout=10)
    deadline = time.monotonic() + 5
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)
