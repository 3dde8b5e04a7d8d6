"""report.html and trace.json of real profiled runs: opened in headless Chromium (renders with
no error and no network request, the bottleneck is marked in the graph, nothing a user's
element names carry runs), and trace.json held to the trace event format."""

from __future__ import annotations

import json
import subprocess
import sys
from html import unescape
from pathlib import Path

import numpy as np
import pytest

from browser_cdp import Browser, chromium_path
from conftest import needs_gst
from pipesight.metrics import timelines
from pipesight.render import perfetto
from pipesight.render.graph_costs import BOTTLENECK_COLOUR
from pipesight.render.pipeline_graph import short
from pipesight.workflows.answer import analyze_path
from pipesight.workflows.outputs import write_html
from trace_event_format import check

needs_chromium = pytest.mark.skipif(chromium_path() is None,
                                    reason="chromium not installed (setup.sh installs it)")
pytestmark = [needs_gst, pytest.mark.slow]

SLEEP_US = 15_000
SLOW = ["videotestsrc", "num-buffers=50", "!", "video/x-raw,width=320,height=240", "!",
        "queue", "!", "identity", "name=slow", f"sleep-time={SLEEP_US}", "!", "fakesink"]
# names a report must show as text, never run
EVIL_IMG = "<img src=x onerror=window.__xss=1>"
EVIL = ["videotestsrc", "num-buffers=30", "!", "identity", f'name="{EVIL_IMG}"', "!",
        "identity", 'name="q\\"b\\\\c</script><script>window.__xss=2</script>"', "!",
        "fakesink", 'name="\\"><svg onload=window.__xss=3>"']


def profile(out: Path, pipeline: list[str]) -> Path:
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(out), "--",
                        "gst-launch-1.0", *pipeline], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    return out


@pytest.fixture(scope="module")
def slow_run(tmp_path_factory) -> Path:
    return profile(tmp_path_factory.mktemp("slow") / "run", SLOW)


@pytest.fixture(scope="module")
def evil_run(tmp_path_factory) -> Path:
    return profile(tmp_path_factory.mktemp("evil") / "run", EVIL)


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory) -> Path:
    """50 identical branches after a tee: 150 elements beyond the source."""
    branches: list[str] = []
    for _ in range(50):
        branches += ["t.", "!", "queue", "max-size-buffers=3", "!", "videoconvert", "!",
                     "fakesink"]
    return profile(tmp_path_factory.mktemp("wide") / "run",
                   ["videotestsrc", "num-buffers=15", "!", "video/x-raw,width=160,height=120",
                    "!", "tee", "name=t", *branches])


@pytest.fixture(scope="module")
def browser():
    if chromium_path() is None:
        pytest.skip("chromium not installed")
    with Browser() as b:
        yield b


def verdict(run: Path) -> dict:
    return json.loads((run / "verdict.json").read_text())


def assert_clean(page) -> None:
    assert page.console_errors == []
    assert page.exceptions == []
    assert page.log_errors == []  # CSP violations and failed loads land here
    assert page.other_requests == [], "the report fetched something"


# -- report.html ----------------------------------------------------------------------


def test_profile_writes_report_and_trace(slow_run: Path) -> None:
    html = (slow_run / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in html and "default-src 'none'" in unescape(html)
    assert (slow_run / "trace.json").stat().st_size > 0
    assert verdict(slow_run)["bottleneck"]["element"] == "slow"


@needs_chromium
def test_report_renders_offline_and_marks_the_bottleneck(slow_run: Path, browser) -> None:
    page = browser.open(slow_run / "report.html")
    assert_clean(page)
    assert page.requests == [page.url]
    marked = page.evaluate("""(() => {
        const g = document.querySelectorAll('svg.pipeline-graph g.node.bottleneck');
        return [...g].map(n => {
            const s = n.querySelector('path, polygon');
            return {name: n.querySelector('title').textContent.split('\\n')[0],
                    text: n.textContent, stroke: s.getAttribute('stroke'),
                    width: parseFloat(s.getAttribute('stroke-width'))};
        });
    })()""")
    assert len(marked) == 1
    assert marked[0]["name"] == "slow"
    assert "BOTTLENECK" in marked[0]["text"]
    assert marked[0]["stroke"] == BOTTLENECK_COLOUR and marked[0]["width"] >= 3
    # the table row of the bottleneck is marked too, and points at its node
    row = page.evaluate("""(() => { const r = document.querySelector('tr.is-bottleneck');
        return [r.cells[0].textContent, document.getElementById(r.dataset.node) !== null]; })()""")
    assert row == ["slow", True]
    # every section drew something
    for sel in ("#throughput svg.chart polyline", "#queues svg.chart polyline",
                "#threads svg.chart polygon", "#element-table tbody tr"):
        assert page.evaluate(f"document.querySelectorAll({sel!r}).length") > 0, sel


@needs_chromium
def test_element_table_sorts(slow_run: Path, browser) -> None:
    page = browser.open(slow_run / "report.html")
    col = page.evaluate("""[...document.querySelectorAll('#element-table thead th')]
        .findIndex(th => th.textContent.startsWith('ms/buffer'))""")
    assert col >= 0

    def click() -> list:
        return page.evaluate(f"""(() => {{
            const t = document.getElementById('element-table');
            t.querySelectorAll('thead th')[{col}].click();
            return [...t.tBodies[0].rows].map(r => r.cells[{col}].dataset.v); }})()""")

    first, second = click(), click()
    nums = [float(x) for x in first if x]
    assert len(nums) >= 3
    assert nums == sorted(nums, reverse=True)
    assert first[len(nums):] == [""] * (len(first) - len(nums))  # blanks last
    nums2 = [float(x) for x in second if x]
    assert nums2 == sorted(nums2)
    assert_clean(page)


@needs_chromium
def test_markup_in_element_names_stays_text(evil_run: Path, browser) -> None:
    names = {r["name"] for r in verdict(evil_run)["elements"]}
    script_name = next(n for n in names if "</script>" in n)
    assert EVIL_IMG in names and '"b\\c' in script_name
    page = browser.open(evil_run / "report.html")
    assert_clean(page)
    assert page.evaluate("window.__xss") is None
    assert page.evaluate("document.images.length") == 0
    assert page.evaluate("document.scripts.length") == 1  # ours
    assert page.evaluate("document.querySelectorAll('svg svg, [onerror], [onload]').length") == 0
    cells = page.evaluate("""[...document.querySelectorAll('#element-table tbody tr')]
        .map(r => r.cells[0].textContent)""")
    assert EVIL_IMG in cells and script_name in cells
    # the graph (drawn from the trace: GStreamer's own dump of these names is broken DOT)
    # shows the names verbatim
    titles = page.evaluate("""[...document.querySelectorAll('svg.pipeline-graph g.node title')]
        .map(t => t.textContent.split('\\n')[0])""")
    assert EVIL_IMG in titles and script_name in titles
    labels = page.evaluate("""[...document.querySelectorAll('svg.pipeline-graph g.node')]
        .map(n => [...n.querySelectorAll('text')].map(t => t.textContent))""")
    assert any(EVIL_IMG in ls for ls in labels)
    assert any(short(script_name) in ls for ls in labels)  # long names are cut in labels


def test_trace_json_of_markup_names_is_inert(evil_run: Path) -> None:
    raw = (evil_run / "trace.json").read_text()
    assert "<" not in raw and ">" not in raw  # escaped as \u003c, \u003e
    doc = json.loads(raw)
    assert check(doc) == []
    names = {e["name"] for e in doc["traceEvents"] if e["ph"] == "X"}
    assert EVIL_IMG in names


@needs_chromium
def test_wide_pipeline_stays_legible(wide_run: Path, browser) -> None:
    rows = verdict(wide_run)["elements"]
    assert len(rows) >= 150
    page = browser.open(wide_run / "report.html")
    assert_clean(page)
    nodes = page.evaluate("document.querySelectorAll('svg.pipeline-graph g.node').length")
    assert nodes <= 10  # source, caps, tee and one folded branch, not 150 boxes
    text = page.evaluate("document.querySelector('svg.pipeline-graph').textContent")
    assert "×50" in text
    assert page.evaluate("document.querySelectorAll('#element-table tbody tr').length") == len(rows)
    # every element's row finds its (folded) node in the graph
    dangling = page.evaluate("""[...document.querySelectorAll('#element-table tr[data-node]')]
        .filter(r => !document.getElementById(r.dataset.node)).length""")
    assert dangling == 0
    assert page.evaluate("document.querySelectorAll('#element-table tr[data-node]').length") \
        == len(rows)


def test_report_command_writes_elsewhere(slow_run: Path, tmp_path: Path) -> None:
    out, tj = tmp_path / "r.html", tmp_path / "t.json"
    r = subprocess.run([sys.executable, "-m", "pipesight", "report", str(slow_run), "-o",
                        str(out), "--trace-json", str(tj)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "slow" in out.read_text() and check(json.loads(tj.read_text())) == []
    bad = subprocess.run([sys.executable, "-m", "pipesight", "report", str(tmp_path / "nope")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "Traceback" not in bad.stderr


def test_busy_timelines_account_as_the_metrics_do(slow_run: Path) -> None:
    trace, metrics, _, _ = analyze_path(slow_run)
    busy = timelines.thread_busy(trace, metrics)
    assert {b.thread for b in busy} == set(metrics.activity.threads)
    for b in busy:
        mean = float(np.sum(b.total * np.diff(b.edges)) / (b.edges[-1] - b.edges[0]))
        assert mean == pytest.approx(metrics.activity.threads[b.thread].busy_fraction,
                                     abs=0.03), trace.threads[b.thread].name
    slow_thread = next(b for b in busy if trace.topology.name(b.layers[0][0]) == "slow")
    assert float(np.median(slow_thread.layers[0][1])) > 0.8


def test_report_without_graphviz_still_written(slow_run: Path, tmp_path: Path,
                                               monkeypatch) -> None:
    trace, metrics, v, _ = analyze_path(slow_run)
    monkeypatch.setenv("PATH", str(tmp_path))  # no `dot` here
    out = tmp_path / "r.html"
    write_html(trace, metrics, v, out)
    html = out.read_text()
    assert "Graphviz" in html and "not installed" in html
    assert "<svg class=\"pipeline-graph\"" not in html and 'id="element-table"' in html


# -- trace.json -----------------------------------------------------------------------


def test_trace_json_follows_the_trace_event_format(slow_run: Path) -> None:
    doc = json.loads((slow_run / "trace.json").read_text())
    assert check(doc) == []
    ev = doc["traceEvents"]
    trace, _, v, _ = analyze_path(slow_run)
    # a track per streaming thread, named, under the traced process's real pid and tids
    tnames = {(e["pid"], e["tid"]): e["args"]["name"] for e in ev
              if e["ph"] == "M" and e["name"] == "thread_name"}
    for th in trace.threads:
        pid = int(th.key.split(":")[0])
        assert tnames.get((pid, th.os_tid)) == th.name
    # microseconds: the identity sleeps SLEEP_US per buffer, and its slices say so
    slow = [e["dur"] for e in ev if e["ph"] == "X" and e["name"] == "slow"]
    assert len(slow) == 50
    assert SLEEP_US <= float(np.median(slow)) < 4 * SLEEP_US
    # the verdict slice spans the window, in microseconds
    win = next(e for e in ev if e["ph"] == "X" and e.get("cat") == "verdict")
    assert win["dur"] == pytest.approx((v.window_end_s - v.window_start_s) * 1e6, abs=2)
    assert "slow" in win["name"]
    # counters: the queue's level and the sink's frame rate
    q = [e["args"]["value"] for e in ev if e["ph"] == "C" and e["name"] ==
         "queue0 level (buffers)"]
    assert q and max(q) == v.queues[0]["max_level_buffers"]
    fps = [e["args"]["value"] for e in ev if e["ph"] == "C" and e["name"] == "fakesink0 fps"]
    assert fps and float(np.mean(fps)) == pytest.approx(v.throughput_fps, rel=0.25)


def test_trace_json_aggregates_within_budget_and_keeps_time(slow_run: Path,
                                                             tmp_path: Path) -> None:
    trace, metrics, v, _ = analyze_path(slow_run)
    full = tmp_path / "full.json"
    small = tmp_path / "small.json"
    perfetto.write(trace, metrics, full, verdict=v)
    stats = perfetto.write(trace, metrics, small, verdict=v, max_slices=200)
    doc = json.loads(small.read_text())
    assert check(doc) == []
    xs = [e for e in doc["traceEvents"] if e["ph"] == "X" and e.get("cat") != "verdict"]
    agg = [e for e in xs if e.get("cat") == "aggregated"]
    assert agg and stats["aggregated_slices"] == len(agg)
    assert len(xs) <= 200 + 10
    assert small.stat().st_size < full.stat().st_size

    # each element's time is all there: detail self time + aggregated busy time
    def per_name(events) -> dict[str, float]:
        out: dict[str, float] = {}
        for e in events:
            a = e["args"]
            t = a["busy_ns"] if e.get("cat") == "aggregated" else a["self_ns"]
            out[e["name"]] = out.get(e["name"], 0.0) + t
        return out

    whole = per_name(e for e in json.loads(full.read_text())["traceEvents"]
                     if e["ph"] == "X" and e.get("cat") != "verdict")
    parts = per_name(xs)
    assert set(parts) == set(whole)
    for name, ns in whole.items():
        assert parts[name] == pytest.approx(ns, rel=1e-6, abs=1.0), name


def test_extra_tracks_have_room(slow_run: Path, tmp_path: Path) -> None:
    trace, metrics, v, _ = analyze_path(slow_run)
    t0 = int(trace.frames.start.min())
    ms = 1_000_000
    gpu = perfetto.SliceTrack(
        group="GPU 0", name="stream 7 <kernels>",
        start_ns=np.array([t0, t0 + 2 * ms, t0 + 5 * ms]),
        end_ns=np.array([t0 + ms, t0 + 4 * ms, t0 + 6 * ms]),
        label=np.array([0, 1, 0]), labels=["nms_kernel", "conv<3x3>"], category="gpu")
    util = perfetto.CounterTrack("GPU 0", "utilization %", np.array([t0, t0 + 10 * ms]),
                                 np.array([35.0, 80.0]))
    out = tmp_path / "t.json"
    perfetto.write(trace, metrics, out, verdict=v, extra=[gpu, util])
    doc = json.loads(out.read_text())
    assert check(doc) == []
    ev = doc["traceEvents"]
    pid = next(e["pid"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"
               and e["args"]["name"] == "GPU 0")
    assert {e["name"] for e in ev if e["ph"] == "X" and e["pid"] == pid} == {
        "nms_kernel", "conv<3x3>"}
    kern = [e for e in ev if e["ph"] == "X" and e["pid"] == pid]
    assert sorted(e["dur"] for e in kern) == [1000.0, 1000.0, 2000.0]
    assert [e["args"]["value"] for e in ev if e["ph"] == "C" and e["pid"] == pid] == [35, 80]
