"""A profiled command's own DeepStream prints (stdout.log) come back with the run directory:
PERF prints on their own axis, latency prints placed on the run's axis by their wall-clock
times."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import needs_gst
from pipesight.cli import main
from pipesight.metrics.samples import tracks
from pipesight.readers import load
from pipesight.trace.samples import INDEX, SECONDS

REPO = Path(__file__).resolve().parent.parent

SCRIPT = r"""
gst-launch-1.0 -q videotestsrc num-buffers=30 ! fakesink
now=$(date +%s%3N)
echo "************BATCH-NUM = 0**************"
pad="               "
echo "Comp name = nvv4l2decoder0 in_system_timestamp = $now.000000" \
  "out_system_timestamp = $((now + 4)).000000${pad}component latency= 4.000000"
echo "Comp name = primary_gie in_system_timestamp = $((now + 5)).000000" \
  "out_system_timestamp = $((now + 25)).000000${pad}component latency= 20.000000"
echo "Source id = 0 Frame_num = 0 Frame latency = 25.500000 (ms) "
echo "**PERF:  FPS 0 (Avg)	"
echo "**PERF:  30.00 (30.00)	"
echo "**PERF:  29.00 (29.50)	"
"""


@needs_gst
def test_console_prints_come_back(tmp_path: Path, capsys) -> None:
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--json",
                        "--", "bash", "-c", SCRIPT], capture_output=True, text=True, env=env,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    manifest = json.loads((run / "manifest.json").read_text())
    trace, _ = load(run)
    s = trace.samples
    assert s is not None
    fps = s.get("fps", "deepstream-perf", "stream 0")
    assert fps.clock == INDEX and fps.v.tolist() == [30.0, 29.0]
    lat = s.get("component_latency", "deepstream-latency", "primary_gie")
    assert lat.clock == SECONDS and lat.v.tolist() == [20.0]
    # printed after the pipeline ran, inside the run: on the run's axis
    assert 0 < lat.t[0] <= manifest["wall_s"] + 0.5
    assert s.get("frame_latency").v.tolist() == [25.5]
    tr = {t.name: t for t in tracks(trace)}
    assert tr["deepstream-latency/primary_gie/component_latency"].origin_ns == trace.run_start_ts
    assert tr["deepstream-perf/stream 0/fps"].origin_ns is None
    assert main(["analyze", str(run), "--json"]) == 0
    v = json.loads(capsys.readouterr().out)
    dom = [f for f in v["findings"] if f["code"] == "ds-latency-dominant-component"]
    assert dom and dom[0]["subject"] == "primary_gie"
    assert any(f["code"] == "deepstream-fps" for f in v["findings"])
