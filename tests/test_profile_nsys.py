"""`pipesight profile --nsys`: the command line it gives nsys, the export into the run
directory, and the analysis of both traces together.

nsys is not on this machine (it is on the GPU machine), so where it must run, a stand-in
script plays its command-line part: it records how it was called, runs the profiled command,
and for `nsys export` writes a real export from the corpus. What is tested is pipesight's side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.capture.nsys import paranoid_advice

STANDIN = """#!{python}
import json, os, shutil, subprocess, sys
a = sys.argv[1:]
log = os.environ["STANDIN_LOG"]
with open(log, "a") as f:
    f.write(json.dumps(a) + "\\n")
if a[:1] == ["--version"]:
    print("NVIDIA Nsight Systems version 0.0.0-standin")
elif a[:2] == ["profile", "--help"]:
    print("-t, --trace=  cuda, nvtx, osrt, python-gil, none")
elif a[:1] == ["profile"]:
    out = a[a.index("-o") + 1]
    open(out + ".nsys-rep", "wb").write(b"\\x00report")
    cmd = a[a.index("--force-overwrite") + 2:]
    sys.exit(subprocess.call(cmd))
elif a[:1] == ["export"]:
    shutil.copy(os.environ["STANDIN_EXPORT"], a[a.index("-o") + 1])
"""


@pytest.fixture
def standin(tmp_path, corpus, monkeypatch) -> Path:
    exe = tmp_path / "nsys"
    exe.write_text(STANDIN.format(python=sys.executable))
    exe.chmod(0o755)
    monkeypatch.setenv("NSYS", str(exe))
    monkeypatch.setenv("STANDIN_LOG", str(tmp_path / "calls.jsonl"))
    monkeypatch.setenv("STANDIN_EXPORT",
                       str(corpus / "nsys" / "nsys-2022.2_a100_saxpy-mpi-cuda.sqlite"))
    return exe


def _profile(args: list[str], env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", "profile", *args],
                          capture_output=True, text=True, timeout=300, env=env)


def test_without_nsys_one_clear_line(tmp_path):
    env = {**os.environ, "NSYS": str(tmp_path / "missing-nsys"),
           "PATH": os.environ.get("PATH", "")}
    r = _profile(["--nsys", "-o", str(tmp_path / "run"), "--", "true"], env)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "pipesight: --nsys: nsys (Nsight Systems) is not on PATH; install it or set "
        "NSYS=/path/to/nsys"]


@needs_gst
def test_profile_runs_under_nsys_exports_and_analyzes_both(standin, tmp_path):
    run = tmp_path / "run"
    r = _profile(["--nsys", "--json", "-o", str(run), "--", "gst-launch-1.0", "videotestsrc",
                  "num-buffers=60", "!", "fakesink"], dict(os.environ))
    assert r.returncode == 0, r.stderr
    calls = [json.loads(x) for x in Path(os.environ["STANDIN_LOG"]).read_text().splitlines()]
    prof = next(c for c in calls if c[:1] == ["profile"] and "--help" not in c)
    t = prof[prof.index("-t") + 1]
    assert t == "cuda,nvtx,osrt"  # not a Python app: no GIL trace
    assert prof[prof.index("-s") + 1] == "none"
    assert "--cpuctxsw=none" in prof and "--cuda-graph-trace=node" in prof
    assert prof[prof.index("-o") + 1] == str(run / "nsys")
    # the command as pipesight would run it without nsys (gst-launch-1.0 -e: EOS on interrupt)
    g = prof.index("gst-launch-1.0")
    assert prof[g + 1] == "-e"
    assert prof[-4:] == ["videotestsrc", "num-buffers=60", "!", "fakesink"]
    exp = next(c for c in calls if c[:1] == ["export"])
    assert exp[exp.index("-o") + 1] == str(run / "nsys.sqlite")
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["nsys"]["export"] == "nsys.sqlite"
    assert manifest["nsys"]["version"].endswith("standin")
    v = json.loads(r.stdout)
    # the GStreamer side and the GPU side in one verdict
    assert v["elements"] and v["gpus"][0]["device"] == 0
    assert any(s.startswith("GPU timeline") for s in v["seen"])


def test_python_apps_get_gil_tracing_and_user_options_replace_defaults(standin, tmp_path):
    run = tmp_path / "run"
    r = _profile(["--nsys", "--nsys-args", "-s cpu --cpuctxsw=process-tree", "--json",
                  "-o", str(run), "--", sys.executable, "-c", "pass"], dict(os.environ))
    # a Python app that runs no GStreamer: profiled, and said to have run nothing to profile
    assert r.returncode == 3 and "nothing ran through GStreamer" in r.stderr, r.stderr
    prof = json.loads((run / "manifest.json").read_text())["nsys"]["command"]
    assert prof[prof.index("-t") + 1] == "cuda,nvtx,osrt,python-gil"
    assert prof.count("-s") == 1 and prof[prof.index("-s") + 1] == "cpu"
    assert "--cpuctxsw=none" not in prof and "--cpuctxsw=process-tree" in prof
    assert "--cuda-graph-trace=node" in prof


def test_perf_event_paranoid_advice():
    assert paranoid_advice(2) is None and paranoid_advice(None) is None
    msg = paranoid_advice(4)
    assert "perf_event_paranoid is 4" in msg
    assert "echo 2 > /proc/sys/kernel/perf_event_paranoid" in msg


@needs_gst
def test_a_command_that_fails_before_any_buffer_moves_gets_the_failure_as_verdict(standin,
                                                                                   tmp_path):
    # the GPU of the export is idle most of the time; that says nothing when nothing ran
    run = tmp_path / "run"
    r = _profile(["--nsys", "--json", "-o", str(run), "--", "gst-launch-1.0", "videotestsrc",
                  "!", "no-such-element-x", "!", "fakesink"], dict(os.environ))
    assert r.returncode == 3, r.stderr
    v = json.loads(r.stdout)
    b = v["bottleneck"]
    assert b["kind"] == "failed", b
    assert "exited with status 1" in b["summary"] and "no buffer moved" in b["summary"]
    assert not any(f["kind"] and f["stance"] != "not-judged" for f in v["findings"]
                   if f["code"] != "target-failed")
    starved = [f for f in v["findings"] if f["code"] == "gpu-starved"]
    assert starved and all(f["severity"] == "info" for f in starved)
    assert v["gpus"]  # the GPU rows are still there to read
