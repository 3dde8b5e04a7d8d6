"""`compare A B` says what A's verdict predicted for the fix B applied, and what B got."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import needs_gst

pytestmark = [needs_gst, pytest.mark.slow]

SRC = ["videotestsrc", "pattern=black", "!", "video/x-raw,width=640,height=480,framerate=30/1",
       "!", "queue", "!", "jpegenc", "!", "fakesink"]


def _profile(run, sync: str) -> None:
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run),
                        "--duration", "3", "--delay", "1", "--json", "--", "gst-launch-1.0",
                        *SRC, f"sync={sync}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr


def test_compare_puts_the_prediction_beside_the_rate_after_the_fix(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    _profile(a, "true")  # paced to 30 fps by the sink's clock: the fix is sync=false
    _profile(b, "false")
    va = json.loads((a / "verdict.json").read_text())
    fix = next(f for f in va["bottleneck"]["fixes"] if f["action"] == "sync-false")
    assert fix["bound"] == "rate" and fix["predicted_fps"] > 5 * 30
    r = subprocess.run([sys.executable, "-m", "pipesight", "compare", str(a), str(b), "--json"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    c = json.loads(r.stdout)
    p = c["prediction"]
    assert p["action"] == "sync-false" and p["predicted_fps"] == fix["predicted_fps"]
    got = json.loads((b / "verdict.json").read_text())["throughput_fps"]
    assert p["got_fps"] == pytest.approx(got)
    assert p["error_pct"] == pytest.approx(100 * (p["predicted_fps"] - got) / got, abs=0.01)
    assert f"A predicted {p['predicted_fps']:.1f} fps for sync=false" in c["summary"]
    assert f"got {got:.1f}" in c["summary"]
