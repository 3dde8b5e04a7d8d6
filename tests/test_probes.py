"""Pad probes are timed apart from the elements: the application's probe callbacks (here
Python, through PyGObject) on a src pad and on the peer sink pad get their own time, and the
elements downstream are no longer charged with it."""

from __future__ import annotations

import json
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
