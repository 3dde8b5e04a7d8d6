"""profile owns the whole process tree it starts: processes that leave the command's process
group or outlive it are stopped and reported, a crash anywhere in the tree fails the run, and
a run directory that cannot be written is refused in one line before anything runs."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from conftest import needs_gst
from harden_helpers import PIPESIGHT, one_line_error, run

PIPELINE = "gst-launch-1.0 -q videotestsrc ! video/x-raw,width=160,height=120 ! fakesink"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@needs_gst
def test_a_crash_that_gst_launch_catches_fails_the_run(tmp_path):
    """gst-launch-1.0 without --no-fault (a script starts it, not pipesight) catches SIGSEGV,
    prints "Caught SIGSEGV" and spins; the script's own status says nothing."""
    d = tmp_path / "run"
    script = f"{PIPELINE} & sleep 1.5; kill -SEGV $!; wait"
    r = run("profile", "-o", str(d), "--duration", "4", "--grace", "2", "--", "sh", "-c", script)
    assert r.returncode == 3, r.stderr
    assert "caught SIGSEGV" in r.stderr
    m = json.loads((d / "manifest.json").read_text())
    assert m["failed"] and any("SIGSEGV" in c for c in m["crashes"])
    assert (d / "verdict.json").exists(), "the run is analysed all the same"


@needs_gst
def test_a_crash_its_parent_reaped_is_seen_in_the_trace(tmp_path):
    """A grandchild killed by SIGSEGV and reaped by a subshell that then exits 0: no exit status
    reaches pipesight, but the tracer never trimmed its events file (no clean exit)."""
    d = tmp_path / "run"
    script = ("(gst-launch-1.0 -q --no-fault videotestsrc ! fakesink & p=$!; sleep 1.5; "
              "kill -SEGV $p; wait $p); exit 0")
    r = run("profile", "-o", str(d), "--", "sh", "-c", script)
    assert r.returncode == 3, r.stderr
    assert "ended without a clean exit" in r.stderr
    m = json.loads((d / "manifest.json").read_text())
    assert list(m["traced_processes"].values()) == ["no clean exit"]
    v = json.loads((d / "verdict.json").read_text())
    assert v["throughput_fps"], "what it traced before the crash is analysed"


@needs_gst
def test_processes_the_command_leaves_running_are_stopped(tmp_path):
    """A background job, nohup, setsid and a double fork all outlive the script: each is stopped
    before pipesight returns, and said."""
    d = tmp_path / "run"
    pids = tmp_path / "pids"
    script = (f"{PIPELINE} & echo $! >> {pids}; "
              f"nohup sleep 300 >/dev/null 2>&1 & echo $! >> {pids}; "
              f"setsid sleep 301 & echo $! >> {pids}; "
              f"(sleep 302 & echo $! >> {pids}); sleep 1")
    t0 = time.monotonic()
    r = run("profile", "-o", str(d), "--grace", "2", "--", "sh", "-c", script)
    assert time.monotonic() - t0 < 60
    assert r.returncode == 0, r.stderr
    started = [int(x) for x in pids.read_text().split()]
    assert len(started) == 4
    assert not [p for p in started if _alive(p)]
    m = json.loads((d / "manifest.json").read_text())
    assert {p["pid"] for p in m["left_running"]} >= set(started)
    assert m["survivors"] == []
    assert "left 4 process(es) running" in r.stderr
    v = json.loads((d / "verdict.json").read_text())
    assert v["throughput_fps"], "the background pipeline was traced"


@needs_gst
def test_killing_pipesight_takes_the_whole_tree(tmp_path):
    """pipesight killed outright: its keeper kills the command's whole tree, processes that
    left its process group included."""
    d = tmp_path / "run"
    pids = tmp_path / "pids"
    script = f"setsid sleep 303 & echo $! >> {pids}; {PIPELINE}"
    p = subprocess.Popen([*PIPESIGHT, "profile", "-o", str(d), "--", "sh", "-c", script],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not (pids.exists() and list((d / "trace").glob("events-*.bin"))):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    sleeper = int(pids.read_text().split()[0])
    p.kill()
    p.wait()
    deadline = time.monotonic() + 10
    while _alive(sleeper) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(sleeper)


def test_command_not_started_through_a_shell_keeps_its_status(tmp_path):
    r = run("profile", "-o", str(tmp_path / "run"), "--", "sh", "-c", "exit 7")
    assert r.returncode == 3
    assert "exited with status 7" in r.stderr


# ---------------------------------------------------------------- -o

@pytest.mark.parametrize("where", ["/proc/pipesight-run", "/proc/self/pipesight", "/sys/x",
                                   "/dev/pipesight-run"])
def test_run_dir_under_virtual_file_systems(where):
    r = run("profile", "-o", where, "--", "true")
    assert r.returncode == 2
    assert "not a place for files" in one_line_error(r)


def test_run_dir_that_is_a_file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("keep")
    r = run("profile", "-o", str(f), "--", "true")
    assert r.returncode == 2
    assert "exists and is not a directory" in one_line_error(r)
    assert f.read_text() == "keep"


def test_run_dir_on_a_read_only_file_system(tmp_path):
    mnt = tmp_path / "ro"
    mnt.mkdir()
    probe = subprocess.run(["unshare", "-rm", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("no user and mount namespaces here to make a read-only file system")
    import shlex
    import sys

    cmd = (f"mount -t tmpfs -o ro none {shlex.quote(str(mnt))} && "
           f"{shlex.quote(sys.executable)} -m pipesight profile -o {shlex.quote(str(mnt))}/run "
           "-- true")
    r = subprocess.run(["unshare", "-rm", "sh", "-c", cmd], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert "read-only file system" in one_line_error(r)


def test_a_kernel_without_pidfds_still_stops_the_tree(monkeypatch):
    """JetPack 4's kernel (4.9) has no pidfd_open: the tree is signalled by PID instead."""
    import errno
    import os
    import signal

    from pipesight.capture.tree import ProcessTree

    def no_pidfd(_pid, *_a):
        raise OSError(errno.ENOSYS, "Function not implemented")

    monkeypatch.setattr(os, "pidfd_open", no_pidfd)
    tree = ProcessTree()
    tree.start(["sh", "-c", "sleep 60 & sleep 60"], dict(os.environ), subprocess.DEVNULL,
               subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while len(tree.pids()) < 3 and time.monotonic() < deadline:  # sh and two sleeps
            time.sleep(0.05)
        pids = tree.pids()
        assert len(pids) >= 3
        assert sorted(tree.send(signal.SIGKILL)) == sorted(pids)
        assert tree.wait_empty(10)
        assert not any(_alive(p) for p in pids)
    finally:
        tree.close()
