"""Pad probes are timed apart from the elements: the application's probe callbacks (here
Python, through PyGObject) on a src pad and on the peer sink pad get their own time, and the
elements downstream are no longer charged with it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("gi")

APP = Path(__file__).parent / "apps" / "probe_app.py"


def profile(tmp_path: Path, *flags: str) -> tuple[dict, dict]:
    run, spent = tmp_path / "run", tmp_path / "spent.json"
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--json",
                        "--", sys.executable, str(APP), str(spent), *flags],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    return v, json.loads(spent.read_text())


def total_ms(v: dict, name: str) -> float:
    """An element's own time on its main thread over the window, from verdict.json."""
    row = next(e for e in v["elements"] if e["name"] == name)
    return row["mean_process_ms"] * row["buffers_in"]


def row(v: dict, name: str) -> dict:
    return next(e for e in v["elements"] if e["name"] == name)


def test_src_and_sink_probes_timed_apart_from_elements(tmp_path):
    v, spent = profile(tmp_path)
    src, sink = row(v, "probe@infer.src"), row(v, "probe@q_post.sink")
    # measured from outside, the probes take at least what the app measured inside them
    # (plus the binding's marshalling), per call
    app_src = 1e3 * spent["src"] / spent["src_calls"]
    app_sink = 1e3 * spent["sink"] / spent["sink_calls"]
    assert app_src <= src["mean_process_ms"] <= app_src * 1.25 + 0.3
    assert app_sink <= sink["mean_process_ms"] <= app_sink * 1.25 + 0.3
    assert src["thread"] == sink["thread"] == row(v, "infer")["thread"]
    # the elements downstream of the probes are charged only their own work
    assert row(v, "infer")["mean_process_ms"] < 0.5
    assert row(v, "q_post")["mean_process_ms"] is None or row(v, "q_post")["mean_process_ms"] < 0.5
    # and the verdict names the costly probe
    b = v["bottleneck"]
    assert b["kind"] == "element" and b["element"] == "probe@infer.src"


def test_a_dropping_probe_ends_its_span_when_the_push_returns(tmp_path):
    v, spent = profile(tmp_path, "--drop")
    src = row(v, "probe@infer.src")
    app_src = 1e3 * spent["src"] / spent["src_calls"]
    assert app_src <= src["mean_process_ms"] <= app_src * 1.25 + 0.3
    # half the buffers never reach q_post: its probe ran for the others only
    sink = row(v, "probe@q_post.sink")
    assert sink["buffers_in"] <= 0.6 * src["buffers_in"]


def test_probes_added_while_playing(tmp_path):
    v, spent = profile(tmp_path, "--late")
    src, sink = row(v, "probe@infer.src"), row(v, "probe@q_post.sink")
    assert src["mean_process_ms"] >= 1e3 * spent["src"] / spent["src_calls"]
    assert sink["mean_process_ms"] >= 1e3 * spent["sink"] / spent["sink_calls"]
    assert row(v, "infer")["mean_process_ms"] < 0.5


def test_python_callbacks_are_named_inside_the_probe_they_spend(tmp_path):
    v, spent = profile(tmp_path)
    cb = {c["name"].split(": ", 1)[1].split(" (")[0]: c for c in v["callbacks"]}
    assert cb["on_src"]["inside"] == "probe@infer.src"
    assert cb["on_sink"]["inside"] == "probe@q_post.sink"
    assert cb["on_src"]["mean_ms"] == pytest.approx(1e3 * spent["src"] / spent["src_calls"],
                                                    rel=0.05)
    # the verdict says which function of the application's spends the probe's time
    assert "on_src (probe_app.py:" in v["bottleneck"]["summary"]


def test_a_signal_handler_is_timed_inside_the_element_that_emits_it(tmp_path):
    run = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--json",
                        "--", sys.executable, str(APP.parent / "appsink_app.py")],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    (c,) = [c for c in v["callbacks"] if "::new-sample: on_sample" in c["name"]]
    assert c["inside"] == "out" and c["mean_ms"] >= 2.0 and c["cpu_ms"] >= 1.5


def test_the_users_own_sitecustomize_still_runs(tmp_path):
    mine = tmp_path / "site"
    mine.mkdir()
    marker = tmp_path / "ran"
    (mine / "sitecustomize.py").write_text(f"open({str(marker)!r}, 'w').write('yes')\n")
    env = {**os.environ, "PYTHONPATH": str(mine)}
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(tmp_path / "r"),
                        "--json", "--", sys.executable, str(APP), str(tmp_path / "s.json")],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 0, r.stderr
    assert marker.read_text() == "yes"
    assert json.loads(r.stdout)["callbacks"]  # and ours timed the callbacks


def test_nvtx_ranges_cost_nothing_outside_nsys_and_change_no_record(tmp_path):
    """profile --nvtx: the tracer (built with the NVTX headers) would open a range per push and
    probe span; outside Nsight Systems no injection library is loaded, the calls return, and
    the trace is the same as without."""
    out = {}
    for flag in ([], ["--nvtx"]):
        run = tmp_path / ("nvtx" if flag else "plain")
        r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--json",
                            *flag, "--", sys.executable, str(APP), str(tmp_path / "s.json")],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stderr
        out[bool(flag)] = json.loads(r.stdout)
        manifest = json.loads((run / "manifest.json").read_text())
        assert ("PIPESIGHT_NVTX" in manifest["environment_added"]) == bool(flag)
        defs = [json.loads(x) for x in next((run / "trace").glob("defs-*.jsonl")).read_text()
                .splitlines()]
        (info,) = [d for d in defs if d["t"] == "tracer"]
        assert info["format"] == 3 and info["probes"] is True
    a, b = out[False], out[True]
    assert a["bottleneck"]["element"] == b["bottleneck"]["element"] == "probe@infer.src"
    assert [p["pad"] for p in a["pads"]] == [p["pad"] for p in b["pads"]]
