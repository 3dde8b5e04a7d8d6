"""`pipesight compare` on real lab runs: a fix is named with the bottleneck it uncovers, also
when every element was renamed; two runs of one pipeline show no significant change (with a
margin, and with the noise measured over repeats); different pipeline shapes are reported; the
CI gates exit 5 with a one-line reason; the side-by-side HTML is offline and inert."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from browser_cdp import Browser, chromium_path
from conftest import needs_gst
from pipesight.compare.summary import KIND_WORDS, fixed_element
from pipesight.lab import runner
from pipesight.lab.scenarios import by_name
from pipesight.workflows.gates import EXIT_GATE
from pipesight.workflows.sides import compare_paths

pytestmark = [needs_gst, pytest.mark.slow]

DURATION_S = 3.5  # short runs: the machine is small and shared


def lab(tmp_path_factory, name: str, **kw) -> runner.LabResult:
    s = by_name(name)
    assert s is not None
    return runner.run(s, tmp_path_factory.mktemp(name) / "run", duration_s=DURATION_S, **kw)


def cli(*args: str, timeout: int = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=timeout)


def one_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> runner.LabResult:
    return lab(tmp_path_factory, "encoder")


@pytest.fixture(scope="module")
def encoder_fixed_renamed(tmp_path_factory) -> runner.LabResult:
    """The fix, with every element renamed to a name that says nothing."""
    return lab(tmp_path_factory, "encoder", fixed=True, renamed=True)


@pytest.fixture(scope="module")
def decoy(tmp_path_factory) -> tuple[runner.LabResult, runner.LabResult]:
    return lab(tmp_path_factory, "decoy"), lab(tmp_path_factory, "decoy", fixed=True)


@pytest.fixture(scope="module")
def one_thread_renamed(tmp_path_factory) -> runner.LabResult:
    """Another shape than the encoder's: no queues, a videoconvert added; renamed."""
    return lab(tmp_path_factory, "one-thread", renamed=True)


@pytest.fixture(scope="module")
def clocked_repeats(tmp_path_factory) -> Path:
    """A clock-paced pipeline (sink sync=true at 30 fps) profiled twice with --repeat."""
    s = by_name("sink-sync")
    assert s is not None
    out = tmp_path_factory.mktemp("repeat") / "run"
    r = cli("profile", "-o", str(out), "--repeat", "2", "--duration", "3", "--delay", "1",
            "--fail-under-fps", "1", "--", *runner.command(s, runner.default_names(s)))
    assert r.returncode == 0, r.stderr
    return out


def bottleneck_words(v) -> str:
    """How the sentence names a verdict's bottleneck: its element, else its kind in words."""
    return v.bottleneck.element or KIND_WORDS[v.bottleneck.kind]


def test_fix_is_named_with_the_new_bottleneck(encoder, encoder_fixed_renamed):
    a, b = encoder, encoder_fixed_renamed
    c = compare_paths(a.run_dir, b.run_dir)
    # every element was renamed: the graph positions pair them as the scenario placed them
    for key, name_a in a.names.items():
        assert c.matching.in_b(name_a) == b.names[key], key
    assert not c.matching.only_a and not c.matching.only_b
    planted = a.expected_element
    assert a.verdict.bottleneck.element == planted
    fixed = fixed_element(c)
    assert fixed is not None and fixed.a == planted and fixed.b == b.names["enc"]
    assert fixed.changes["ms_per_buffer"].delta < 0
    assert fixed.type_a == "jpegenc" and fixed.type_b == "identity"
    assert c.sentence.startswith(f"{planted} (B's {b.names['enc']})'s time per buffer fell")
    assert c.bottleneck.moved
    assert f"the bottleneck moved from {planted} to {bottleneck_words(b.verdict)}" in c.sentence
    assert c.status == "faster"
    assert c.throughput.b > c.throughput.a and c.throughput.better is True
    assert f"{c.throughput.delta_pct:+.0f}%" in c.sentence


def test_decoy_fix_names_the_scaler_not_the_encoder(decoy):
    a, b = decoy
    c = compare_paths(a.run_dir, b.run_dir)
    scaler = a.names["scale"]
    fixed = fixed_element(c)
    assert fixed is not None and fixed.a == scaler
    assert c.sentence.startswith(f"{scaler}'s time per buffer fell")
    assert bottleneck_words(b.verdict) in c.sentence.split("; ")[1]
    assert c.status == "faster"


def test_reverse_comparison_is_slower_and_gated(encoder, encoder_fixed_renamed):
    slow, fast = str(encoder.run_dir), str(encoder_fixed_renamed.run_dir)
    r = cli("compare", fast, slow, "--fail-if-slower", "10")
    assert r.returncode == EXIT_GATE
    line = one_line(r.stderr)
    assert line.startswith("pipesight: gate failed: B is ") and "slower than A" in line
    r = cli("compare", slow, fast, "--fail-if-slower", "10", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert d["gate"] == {"fail_if_slower_pct": 10.0, "failed": False, "reason": None, "note": None}
    assert d["status"] == "faster" and d["throughput"]["significant"]
    r = cli("compare", fast, slow, "--fail-if-slower", "10", "--json")
    assert r.returncode == EXIT_GATE and json.loads(r.stdout)["gate"]["failed"] is True


def test_two_runs_of_one_pipeline_show_no_significant_change(clocked_repeats):
    c = compare_paths(clocked_repeats / "repeats" / "1", clocked_repeats / "repeats" / "2")
    assert c.noise_basis == "margin" and c.throughput.basis == "margin"
    assert c.status == "no significant change", c.sentence
    assert not c.throughput.significant
    assert "within the noise" in c.sentence
    assert "the bottleneck is still" in c.sentence
    assert all(p.how == "name" and not p.renamed for p in c.matching.pairs)


def test_repeats_measure_the_noise(clocked_repeats):
    runs = json.loads((clocked_repeats / "manifest.json").read_text())["summary"]
    c = compare_paths(clocked_repeats, clocked_repeats / "repeats" / "1")
    assert c.a.runs == 2 and c.b.runs == 0 and c.noise_basis == "repeats"
    assert c.throughput.basis == "repeats"
    assert c.throughput.a == pytest.approx(runs["mean_fps"], abs=1e-3)
    assert c.status == "no significant change", c.sentence
    # the threshold is the measured spread, not the default 5% margin
    assert c.throughput.threshold < 0.05 * c.throughput.a


def test_repeat_run_passes_its_fps_gate(clocked_repeats):
    # the fixture's profile ran with --fail-under-fps 1 and exited 0; a gate it cannot meet:
    s = by_name("sink-sync")
    assert s is not None
    out = clocked_repeats.parent / "gated"
    r = cli("profile", "-o", str(out), "--duration", "2", "--delay", "0.5",
            "--fail-under-fps", "1000", "--", *runner.command(s, runner.default_names(s)))
    assert r.returncode == EXIT_GATE
    fps = json.loads((out / "verdict.json").read_text())["throughput_fps"]
    assert f"pipesight: gate failed: throughput {fps:.1f} fps is under the required 1000 fps" \
        in r.stderr.splitlines()


def test_different_shapes_are_reported(encoder, one_thread_renamed):
    a, b = encoder, one_thread_renamed
    c = compare_paths(a.run_dir, b.run_dir)
    # same placeholders, same places: paired although every name differs
    for key in ("src", "caps", "enc", "sink"):
        assert c.matching.in_b(a.names[key]) == b.names[key], key
    assert sorted(c.matching.only_a) == sorted([a.names["q1"], a.names["q2"]])
    assert c.matching.only_b == [b.names["conv"]]
    assert "2 elements only in A" in c.sentence and "1 element only in B" in c.sentence
    only = [r for r in c.section("element") if r.a is None or r.b is None]
    assert {r.a or r.b for r in only} >= {a.names["q1"], a.names["q2"], b.names["conv"]}
    r = cli("compare", str(a.run_dir), str(b.run_dir), "--json")
    assert r.returncode == 0, r.stderr
    shape = json.loads(r.stdout)["shape"]
    assert shape["same"] is False and shape["only_b"] == [b.names["conv"]]


def test_removed_queue_renumbers_the_other(tmp_path):
    """GStreamer numbers elements of one factory in creation order: without the first queue,
    the second is called queue0. The graph puts it in its place."""
    head = ["videotestsrc", "num-buffers=100", "!", "video/x-raw,width=320,height=240", "!"]
    tail = ["videoconvert", "!", "queue", "!", "fakesink"]
    runs = []
    for k, first in enumerate((["queue", "!"], [])):
        out = tmp_path / f"run{k}"
        r = cli("profile", "-o", str(out), "--", "gst-launch-1.0", *head, *first, *tail)
        assert r.returncode == 0, r.stderr
        runs.append(out)
    c = compare_paths(*runs)
    assert c.matching.in_b("queue1") == "queue0"  # the queue after videoconvert
    assert c.matching.pair_of_a("queue1").how == "position"
    assert c.matching.only_a == ["queue0"] and c.matching.only_b == []
    assert c.matching.in_b("videoconvert0") == "videoconvert0"
    assert "1 element only in A (queue0)" in c.sentence


def test_qos_drops_that_vanish(tmp_path):
    """A live 30 fps source, an element too slow for it and a sink that drops late buffers
    (QoS); then the element made fast: the drops are compared, (nearly) gone on B's side."""
    runs = []
    for k, sleep_us in enumerate((50_000, 1_000)):
        out = tmp_path / f"run{k}"
        r = cli("profile", "-o", str(out), "--", "gst-launch-1.0", "videotestsrc",
                "is-live=true", "num-buffers=45", "!",
                "video/x-raw,width=320,height=240,framerate=30/1", "!", "identity",
                f"sleep-time={sleep_us}", "!", "fakesink", "sync=true",
                "max-lateness=5000000", "qos=true")
        assert r.returncode == 0, r.stderr
        runs.append(out)
    qos = [f for f in json.loads((runs[0] / "verdict.json").read_text())["findings"]
           if f["code"] == "qos-dropped" and f["subject"] == "fakesink0"]
    assert qos, "the slow run's sink reported no QoS drops"
    dropped = next(e["value"] for e in qos[0]["evidence"] if e["metric"] == "dropped")
    c = compare_paths(*runs)
    rows = [r for r in c.section("drops") if r.a == "fakesink0"]
    assert len(rows) == 1 and rows[0].b == "fakesink0"
    ch = rows[0].changes["dropped"]
    # (the fast run may still drop a buffer or two at start-up on a busy machine)
    assert ch.a == dropped and ch.b < ch.a and ch.significant and ch.better is True
    assert "drops at fakesink0 fell from" in c.sentence
    assert all(r.a != "pipeline0" for r in c.section("drops"))  # a bin repeats its child's


def test_verdict_json_is_compared_by_name(encoder, encoder_fixed_renamed, tmp_path):
    """A verdict.json has no links: a renamed element pairs only when its type is unique."""
    c = compare_paths(encoder.run_dir / "verdict.json",
                      encoder_fixed_renamed.run_dir / "verdict.json")
    assert any("matched by name and type only" in n for n in c.notes)
    a, b = encoder.names, encoder_fixed_renamed.names
    assert c.matching.in_b(a["src"]) == b["src"]  # the only videotestsrc on each side
    assert c.matching.in_b(a["enc"]) is None  # jpegenc became identity: nothing to pair by
    assert c.status == "faster"


@pytest.mark.skipif(chromium_path() is None, reason="chromium not installed")
def test_side_by_side_html_is_offline_and_inert(tmp_path):
    evil = '<img src=x onerror=window.__xss=1>'
    runs = []
    for k, conv in enumerate(([], ["videoconvert", "!"])):
        out = tmp_path / f"run{k}"
        r = cli("profile", "-o", str(out), "--", "gst-launch-1.0", "videotestsrc",
                "num-buffers=100", "!", "video/x-raw,width=320,height=240", "!", "queue", "!",
                *conv, "identity", f'name="{evil}"', "sleep-time=5000", "!", "fakesink")
        assert r.returncode == 0, r.stderr
        runs.append(out)
    html = tmp_path / "cmp.html"
    r = cli("compare", str(runs[0]), str(runs[1]), "--html", str(html))
    assert r.returncode == 0, r.stderr
    with Browser() as br:
        page = br.open(html)
        assert page.exceptions == [] and page.console_errors == [] and page.log_errors == []
        assert page.other_requests == []
        assert page.evaluate("window.__xss") is None
        assert page.evaluate("document.images.length") == 0
        assert page.evaluate("document.scripts.length") == 1
        cells = page.evaluate("""[...document.querySelectorAll('#cmp-elements-table tbody tr')]
            .map(r => r.cells[0].textContent)""")
        assert any(evil in x for x in cells)
        assert page.evaluate("document.querySelectorAll('svg.pipeline-graph').length") == 2
        # each side's graph in its own viewer, fitted to its half of the page
        assert page.evaluate("""[...document.querySelectorAll('.graphbox')].map(b =>
            parseFloat(b.dataset.scale) > 0 && b.querySelector('svg').getBoundingClientRect()
            .width <= b.getBoundingClientRect().width + 1)""") == [True, True]
        summary = page.evaluate("document.querySelector('.summary').textContent")
        assert "1 element only in B (videoconvert0)" in summary


def test_bad_html_path_is_one_line(encoder, tmp_path):
    r = cli("compare", str(encoder.run_dir), str(encoder.run_dir), "--html",
            str(tmp_path / "no" / "such" / "dir" / "x.html"))
    assert r.returncode == 2
    assert one_line(r.stderr).startswith("pipesight: cannot write ")
