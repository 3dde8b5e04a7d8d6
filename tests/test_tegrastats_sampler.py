"""The tegrastats sampler, run against a stand-in tegrastats (tests/fakebin) that replays the
corpus' Orin Nano stress log; and a `pipesight profile` run with it, loaded back from the run
directory."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.capture.nvml_sampler import NvmlSampler
from pipesight.capture.tegrastats_sampler import TegrastatsSampler
from pipesight.metrics.samples import tracks
from pipesight.readers import load
from pipesight.readers.hw_samples import read_tegrastats
from pipesight.readers.tegrastats import parse_line

REPO = Path(__file__).resolve().parent.parent
FAKEBIN = REPO / "tests" / "fakebin"
STRESS = "deepstream/tegrastats_orin_nano_gpu_burn_tegra_burn.log"


@pytest.fixture
def fake_tegrastats(corpus: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    log = corpus / STRESS
    monkeypatch.setenv("PATH", f"{FAKEBIN}{os.pathsep}{os.environ.get('PATH', '')}")
    monkeypatch.setenv("PIPESIGHT_FAKE_TEGRASTATS", str(log))
    return log


def _rows(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_sampler_keeps_each_line_as_printed(fake_tegrastats: Path, tmp_path: Path) -> None:
    out = tmp_path / "tegrastats.jsonl"
    s = TegrastatsSampler(out, interval_s=0.05)
    assert s.open() and s.exe == str(FAKEBIN / "tegrastats")
    s.start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if out.exists() and sum(1 for r in _rows(out) if r["t"] == "line") >= 12:
            break
        time.sleep(0.05)
    s.stop()
    rows = _rows(out)
    head, lines, end = rows[0], [r for r in rows if r["t"] == "line"], rows[-1]
    assert head["t"] == "header" and head["command"][1:] == ["--interval", "50"]
    assert end["t"] == "end" and end["samples"] == len(lines) >= 12 and end["note"] is None
    corpus_lines = [x for x in fake_tegrastats.read_text().splitlines() if x.strip()]
    assert [r["line"] for r in lines] == corpus_lines[:len(lines)]
    ts = [r["ts"] for r in lines]
    assert ts == sorted(ts)
    # stamped as printed, not when a buffer filled: the lines spread over the replay
    assert (ts[-1] - ts[0]) / 1e9 >= 0.3 * 0.05 * (len(lines) - 1)
    assert s.proc is not None and s.proc.poll() is not None  # the child is gone
    back = read_tegrastats(out, t0_ns=ts[0])
    want = [parse_line(x).values["GR3D.load"][0] for x in corpus_lines[:len(lines)]]
    assert back.get("GR3D.load").v.tolist() == want
    assert back.get("GR3D.load").t[0] == 0.0


def test_skipped_with_a_note_where_there_is_no_tegrastats(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    if shutil.which("tegrastats") and "fakebin" not in shutil.which("tegrastats"):
        pytest.skip("a real Jetson")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    s = TegrastatsSampler(tmp_path / "t.jsonl")
    assert not s.open() and "tegrastats not found" in (s.note or "")


def test_nvml_skipped_with_a_note_without_a_driver(tmp_path: Path) -> None:
    if shutil.which("nvidia-smi"):
        pytest.skip("an NVIDIA driver is here")
    s = NvmlSampler(tmp_path / "n.jsonl")
    assert not s.open()
    assert "nvidia-ml-py is not installed" in s.note or "no NVIDIA driver" in s.note


@needs_gst
def test_profile_run_directory_round_trip(fake_tegrastats: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"),
           "PIPESIGHT_FAKE_TEGRASTATS_SKIP": "11"}  # from where GR3D runs at 99%
    r = subprocess.run(
        [sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--json", "--duration",
         "8", "--", "gst-launch-1.0", "videotestsrc", "is-live=true", "num-buffers=40", "!",
         "video/x-raw,width=320,height=240,framerate=20/1", "!", "fakesink"],
        capture_output=True, text=True, env=env, timeout=180)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    ran = manifest["samplers"]["tegrastats"]
    assert ran["status"] == "ran" and ran["samples"] >= 5
    assert (run / "samples" / "tegrastats.jsonl").exists()
    if not shutil.which("nvidia-smi"):
        assert manifest["samplers"]["nvml"]["status"] == "skipped"
        assert any(n.startswith("nvml sampler skipped") for n in manifest["notes"])

    trace, kind = load(run)
    assert kind == "run directory" and trace.samples is not None
    assert trace.samples.origin == "the run's start"
    assert trace.samples.origin_ns == trace.run_start_ts is not None
    gr3d = {t.name: t for t in tracks(trace)}["tegrastats/jetson/GR3D.load"]
    assert len(gr3d.t_seconds) == ran["samples"]
    assert (gr3d.values == 99).all()
    assert gr3d.t_seconds[0] >= 0 and gr3d.t_seconds[-1] <= manifest["wall_s"] + 1
    verdict = json.loads(r.stdout)
    gpu = [f for f in verdict["findings"] if f["code"] == "gpu-util-saturated"]
    assert len(gpu) == 1 and gpu[0]["kind"] == "gpu"
    assert any(s.startswith("tegrastats samples") for s in verdict["seen"])
