"""What a reader of report.html sees first, in headless Chromium on a laptop-sized window: the
pipeline graph fitted to its box with the bottleneck in view (and, where fitting would make it
unreadable, the bottleneck centred at a legible size), zoom, pan and a table row that finds its
element; evidence in words; a title naming the run and its verdict. And trace.json of a real
audio run kept small, saying what it merged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.render.evidence_labels import label
from pipesight.render.perfetto import MAX_SLICES
from report_helpers import needs_chromium, profile
from trace_event_format import check

pytestmark = [needs_gst, pytest.mark.slow]
LAPTOP = (1280, 900)

# twelve elements, the bottleneck (slow) tenth: off-screen in a 1:1 scroll box
TWELVE = ["videotestsrc", "num-buffers=120", "!", "video/x-raw,width=320,height=240", "!",
          "videoconvert", "!", "queue", "!", "videoscale", "!", "video/x-raw,width=160,height=120",
          "!", "identity", "!", "queue", "!", "videoconvert", "!", "identity", "name=slow",
          "sleep-time=8000", "!", "queue", "!", "fakesink"]


def long_chain(n: int, slow_at: int) -> list[str]:
    # 5 ms a buffer at the slow one: 150 buffers make a window past the minimum (0.5 s)
    out = ["videotestsrc", "num-buffers=150", "!", "video/x-raw,width=64,height=48"]
    for i in range(n):
        out += ["!", "identity"] + (["name=slow", "sleep-time=5000"] if i == slow_at else [])
    return [*out, "!", "fakesink"]



@pytest.fixture(scope="module")
def twelve(tmp_path_factory) -> Path:
    return profile(tmp_path_factory.mktemp("twelve") / "twelve-run", TWELVE)



GEOMETRY = """(() => {
    const box = document.querySelector('.graphbox');
    const svg = box.querySelector('svg.pipeline-graph');
    const rect = e => { const r = e.getBoundingClientRect();
                        return {l: r.left, t: r.top, r: r.right, b: r.bottom}; };
    return {box: rect(box), graph: rect(svg.querySelector('g.graph')),
            node: rect(svg.querySelector('g.node.bottleneck')),
            scale: parseFloat(box.dataset.scale), viewBox: svg.getAttribute('viewBox')};
})()"""


def inside(a: dict, b: dict, slack: float = 1.5) -> bool:
    return (a["l"] >= b["l"] - slack and a["r"] <= b["r"] + slack and a["t"] >= b["t"] - slack
            and a["b"] <= b["b"] + slack)


def clean(page) -> None:
    assert page.console_errors == [] and page.exceptions == [] and page.log_errors == []
    assert page.other_requests == []


@needs_chromium
def test_graph_opens_fitted_with_the_bottleneck_in_view(twelve: Path, browser) -> None:
    v = json.loads((twelve / "verdict.json").read_text())
    assert v["bottleneck"]["element"] == "slow" and len(v["elements"]) == 12
    page = browser.open(twelve / "report.html", window=LAPTOP)
    clean(page)
    g = page.evaluate(GEOMETRY)
    assert inside(g["graph"], g["box"]), g  # the whole graph: fitted
    assert inside(g["node"], g["box"]), g  # so the bottleneck too
    assert g["box"]["r"] - g["box"]["l"] <= LAPTOP[0]
    assert g["box"]["b"] - g["box"]["t"] <= 0.7 * LAPTOP[1] + 2  # and its border
    assert 0.5 <= g["scale"] <= 96 / 72


@needs_chromium
def test_graph_zooms_pans_and_finds_a_row(twelve: Path, browser) -> None:
    page = browser.open(twelve / "report.html", window=LAPTOP)
    before = page.evaluate(GEOMETRY)
    page.evaluate("document.querySelector('button[data-zoom=\"in\"]').click()")
    zoomed = page.evaluate(GEOMETRY)
    assert zoomed["scale"] == pytest.approx(before["scale"] * 1.5, rel=1e-3)
    # drag: the drawing follows the pointer
    page.evaluate("""(() => {
        const box = document.querySelector('.graphbox'), r = box.getBoundingClientRect();
        const at = (type, x, y) => box.dispatchEvent(new PointerEvent(type, {clientX: x,
            clientY: y, pointerId: 1, bubbles: true}));
        at('pointerdown', r.left + 200, r.top + 100);
        at('pointermove', r.left + 260, r.top + 140);
        at('pointerup', r.left + 260, r.top + 140); })()""")
    moved = page.evaluate(GEOMETRY)
    assert moved["graph"]["l"] - zoomed["graph"]["l"] == pytest.approx(60, abs=1.5)
    assert moved["graph"]["t"] - zoomed["graph"]["t"] == pytest.approx(40, abs=1.5)
    # a click on the first element's row brings it into view
    page.evaluate("document.querySelector('button[data-zoom=\"actual\"]').click()")
    src = page.evaluate("""(() => {
        const row = [...document.querySelectorAll('#element-table tr[data-node]')]
            .find(r => r.cells[0].textContent === 'videotestsrc0');
        row.click();
        const n = document.getElementById(row.dataset.node).getBoundingClientRect();
        const b = document.querySelector('.graphbox').getBoundingClientRect();
        return {l: n.left, r: n.right, t: n.top, b: n.bottom,
                box: {l: b.left, r: b.right, t: b.top, b: b.bottom}}; })()""")
    assert inside(src, src["box"])
    page.evaluate("document.querySelector('button[data-zoom=\"fit\"]').click()")
    assert inside(page.evaluate(GEOMETRY)["graph"], before["box"])


@needs_chromium
def test_a_graph_too_big_to_fit_opens_on_the_bottleneck(tmp_path: Path, browser) -> None:
    run = profile(tmp_path / "long", long_chain(40, slow_at=34))
    assert json.loads((run / "verdict.json").read_text())["bottleneck"]["element"] == "slow"
    page = browser.open(run / "report.html", window=LAPTOP)
    clean(page)
    g = page.evaluate(GEOMETRY)
    assert not inside(g["graph"], g["box"])  # fitting 42 boxes would make them unreadable
    assert g["scale"] == pytest.approx(0.7, abs=1e-3)
    assert inside(g["node"], g["box"]), g
    # its centre near the box's centre, unless the box is at the drawing's edge
    centre = (g["node"]["t"] + g["node"]["b"]) / 2
    assert abs(centre - (g["box"]["t"] + g["box"]["b"]) / 2) < (g["box"]["b"] - g["box"]["t"]) / 2


@needs_chromium
def test_evidence_in_words_and_a_title_that_says_what_ran(twelve: Path, browser) -> None:
    page = browser.open(twelve / "report.html", window=LAPTOP)
    title = page.evaluate("document.title")
    assert title.startswith("twelve-run: slow limits it at ") and "pipeline0" not in title
    assert page.evaluate("document.querySelector('h1').textContent").startswith(
        "twelve-run: slow limits it")
    rows = page.evaluate("""[...document.querySelectorAll('table.evidence tbody tr')]
        .map(r => [r.cells[0].childNodes[0].textContent.trim(),
                   r.cells[0].querySelector('code').textContent])""")
    assert len(rows) >= 5
    for words, metric in rows:
        assert words == label(metric) and words != metric


def test_trace_json_of_an_audio_run_stays_small(tmp_path: Path) -> None:
    """The issue's case: audio buffers are many and small (thousands of slices a second)."""
    run = profile(tmp_path / "audio", ["audiotestsrc", "!", "audioconvert", "!", "vorbisenc",
                                       "!", "oggmux", "!", "fakesink"], "--duration", "3")
    doc = json.loads((run / "trace.json").read_text())
    assert check(doc) == []
    agg = doc["otherData"]["aggregation"]
    xs = [e for e in doc["traceEvents"] if e["ph"] == "X"]
    assert agg["merged_calls"] > MAX_SLICES  # far more calls than the budget
    assert len(xs) <= MAX_SLICES + 2
    assert (run / "trace.json").stat().st_size < 4_000_000
    note = next(e for e in xs if e.get("cat") == "note")
    assert note["ts"] == pytest.approx(agg["from_us"], abs=0.002)
    # every slice on request
    full = tmp_path / "full.json"
    r = subprocess.run([sys.executable, "-m", "pipesight", "report", str(run), "-o",
                        str(tmp_path / "r.html"), "--trace-json", str(full), "--slices", "0"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    every = json.loads(full.read_text())
    assert "aggregation" not in every["otherData"]
    n_all = sum(1 for e in every["traceEvents"] if e["ph"] == "X" and e.get("cat") != "verdict")
    assert n_all == agg["kept_one_by_one"] - 2 + agg["merged_calls"]  # less verdict and note
