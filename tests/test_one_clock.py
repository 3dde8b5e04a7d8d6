"""One clock: pipesight's tracer records laid on an Nsight Systems timeline.

The GStreamer half is real (a PyGObject app with a costly pad probe, profiled by pipesight);
the GPU half is an export built here (tests/nsys_synth.py) whose clock differs from the
tracer's by a chosen offset and drift, with the tracer's clock marks in it as the tracer makes
them under nsys (an NVTX mark whose payload is its CLOCK_MONOTONIC time). "GPU work" is
launched from the thread that runs the probe, at each buffer, so the GPU idles while the probe
runs: the verdict must name the probe and its thread, from the trace alone (no NVTX ranges)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import nsys_synth as synth
from pipesight.readers import run_dir
from pipesight.workflows.answer import analyze_path

pytest.importorskip("gi")

APP = Path(__file__).parent / "apps" / "probe_app.py"
SHIFT = 3_000_000_000  # nsys time = t0 + SHIFT + (tracer time - t0) * (1 + DRIFT)
DRIFT = 40e-6


@pytest.fixture(scope="module")
def traced(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clock")
    run = d / "run"
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--",
                        sys.executable, str(APP), str(d / "spent.json")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return run


def to_nsys(t: np.ndarray, t0: int) -> np.ndarray:
    return t0 + SHIFT + ((np.asarray(t, np.int64) - t0) * (1 + DRIFT)).astype(np.int64)


def with_export(traced: Path, dest: Path, *, marks: bool = True, host: str | None = None,
                utc_ns: int | None = None) -> tuple[Path, dict]:
    """A copy of the run directory with an nsys.sqlite whose GPU work follows the trace."""
    shutil.copytree(traced, dest)
    trace = run_dir.load(dest)
    fr = trace.frames
    topo = trace.topology
    infer = topo.by_name("infer").id
    pid = int(next(iter(trace.extras["tracer"])))
    on = fr.element == infer
    th = trace.threads[int(fr.thread[on][0])]
    t0 = int(fr.start.min())
    ex = synth.Export(pid=pid, hostname=host or trace.run["host"]["hostname"],
                      utc_ns=utc_ns or 0)
    g = ex.thread(th.name or "t", int(th.os_tid))
    # the thread launches 0.4 ms of GPU work as identity starts each buffer
    for s in to_nsys(fr.start[on], t0).tolist():
        ex.kernel(g, s, s + 20_000, s + 420_000, "infer_kernel")
    if marks:
        off = trace.monotonic_offset_ns
        for t in np.linspace(t0, int(fr.end.max()), 12).astype(np.int64).tolist():
            ex.mark(g, int(to_nsys(np.array([t]), t0)[0]), "pipesight-clock tick", t + off)
    (dest / "nsys.sqlite").unlink(missing_ok=True)
    ex.write(dest / "nsys.sqlite")
    return dest, {"t0": t0, "infer_thread": th.name}


def test_marks_tie_the_clocks_and_the_probe_is_named(traced, tmp_path):
    run, info = with_export(traced, tmp_path / "run")
    trace, _, v, _ = analyze_path(run)
    m = trace.gpu_clock
    assert m is not None and m.method == "nvtx-marks" and m.points == 12
    assert abs(m.drift_ppm - DRIFT * 1e6) < 0.5
    t = np.array([info["t0"] + 10**9])
    assert abs(int(m.to(t)[0]) - int(to_nsys(t, info["t0"])[0])) <= 2
    assert m.residual_ns is not None and m.residual_ns < 1_000
    b = v.bottleneck
    assert b.kind == "gpu-starved", b
    assert b.confidence == "confirmed"
    assert b.element == "probe@infer.src" and b.thread == info["infer_thread"]
    f = next(f for f in v.findings if f.code == "gpu-starved")
    assert "pad probe on infer.src" in f.title
    ev = {e.metric: e.value for e in f.evidence}
    assert ev["clock_alignment"] == "nvtx-marks"
    share = next(val for k, val in ev.items() if k.startswith("busy_during_gaps_pct["))
    assert share >= 55  # 3 ms of the ~4.3 ms gap per buffer (the rest: the sink-pad probe)


def test_without_marks_the_session_start_is_used_and_said(traced, tmp_path):
    trace0 = run_dir.load(traced)
    c = trace0.extras["tracer_clocks"][0]
    # the session started (nsys time 0) when the tracer's clock read about -SHIFT: in UTC,
    # the tracer's CLOCK_REALTIME reading moved by as much
    utc = int(c["realtime_ns"]) + (-SHIFT - int(c["ts"]))
    run, _ = with_export(traced, tmp_path / "run", marks=False, utc_ns=utc)
    trace, _, v, _ = analyze_path(run)
    assert trace.gpu_clock is not None and trace.gpu_clock.method == "session-start"
    assert trace.gpu_clock.error_ns is None  # not measured: and the verdict says how it tied
    f = next(f for f in v.findings if f.code == "gpu-starved")
    ev = {e.metric: e.value for e in f.evidence}
    assert ev["clock_alignment"] == "session-start" and "clock_alignment_error_us" not in ev


def test_an_export_of_another_host_is_not_tied(traced, tmp_path):
    run, _ = with_export(traced, tmp_path / "run", host="elsewhere")
    trace, _, v, _ = analyze_path(run)
    assert trace.gpu_clock is None
    assert any("cannot be tied in time" in n and "elsewhere" in n for n in trace.notes)
    assert any("cannot be tied" in n for n in v.run.get("notes", []) + trace.notes)
    # analysed side by side as before: no element named from the trace on the GPU's clock
    f = next((f for f in v.findings if f.code == "gpu-starved"), None)
    assert f is None or f.element is None


def test_verdict_json_states_the_clock(traced, tmp_path):
    run, _ = with_export(traced, tmp_path / "run")
    r = subprocess.run([sys.executable, "-m", "pipesight", "analyze", str(run), "--json"],
                       capture_output=True, text=True, timeout=120)
    v = json.loads(r.stdout)
    assert v["clocks"]["gpu"]["method"] == "nvtx-marks"
    assert v["clocks"]["gpu"]["error_us"] < 1000


def test_trace_json_lays_gpu_work_beside_the_threads(traced, tmp_path):
    run, info = with_export(traced, tmp_path / "run")
    r = subprocess.run([sys.executable, "-m", "pipesight", "analyze", str(run)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    ev = json.loads((run / "trace.json").read_text())["traceEvents"]
    names = {(e["pid"], e.get("tid")): e["args"]["name"] for e in ev
             if e.get("ph") == "M" and e.get("name") == "thread_name"}
    by_track: dict[str, list[dict]] = {}
    for e in ev:
        if e.get("ph") == "X":
            by_track.setdefault(names.get((e["pid"], e["tid"]), "?"), []).append(e)
    kernels = [e for e in by_track["stream 13"] if e["name"] == "infer_kernel"]
    infer = np.array(sorted(e["ts"] for e in by_track[info["infer_thread"]]
                            if e["name"] == "infer"))
    assert len(kernels) > 50
    # each kernel starts 20 us after identity (infer) took its buffer: on one clock, to 2 us
    k = np.array(sorted(e["ts"] for e in kernels))
    i = np.searchsorted(infer, k) - 1
    assert (i >= 0).all()
    assert np.abs((k - infer[i]) - 20.0).max() <= 2.0
    html = (run / "report.html").read_text()
    assert "GPU and hardware over time" in html and "nvtx-marks" in html
