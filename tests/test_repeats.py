"""`profile --repeat N` directories as inputs (issue 17, item 4): the top directory has its
verdict.json and report.html; analyze and report read its repeats (each run's throughput and
bottleneck, the one nearest the median speaking for all); compare and its gate use the
repeats' means and the noise they measured. Real repeated runs of real pipelines."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.workflows.gates import EXIT_GATE

pytestmark = [needs_gst, pytest.mark.slow]


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=300)


def pipeline(width: int, frames: int) -> list[str]:
    return ["gst-launch-1.0", "videotestsrc", f"num-buffers={frames}", "pattern=black", "!",
            f"video/x-raw,width={width},height={width * 3 // 4}", "!", "jpegenc", "!",
            "fakesink", "sync=false"]


@pytest.fixture(scope="module")
def repeated(tmp_path_factory) -> dict[str, Path]:
    """Two repeated runs: small frames (fast) and large ones (several times slower)."""
    out = {}
    for name, width, frames in (("fast", 320, 3000), ("slow", 1280, 500)):
        d = tmp_path_factory.mktemp(name) / "run"
        r = cli("profile", "-o", str(d), "--repeat", "3", "--", *pipeline(width, frames))
        assert r.returncode == 0, r.stderr
        out[name] = d
        out[f"{name}-stdout"] = r.stdout  # type: ignore[assignment]
    return out


def test_the_top_directory_answers_with_its_repeats(repeated):
    d = repeated["fast"]
    for f in ("verdict.json", "report.html", "trace.json"):
        assert (d / f).is_file(), f
    v = json.loads((d / "verdict.json").read_text())
    r = v["run"]["repeat"]
    assert r["n"] == 3 and r["runs"] == ["repeats/1", "repeats/2", "repeats/3"]
    assert r["representative"] in r["runs"]
    i = r["runs"].index(r["representative"])
    assert v["throughput_fps"] == pytest.approx(r["throughput_fps"][i], abs=1e-3)
    assert r["min_fps"] <= r["median_fps"] <= r["max_fps"]
    # the representative is the run nearest the median
    assert abs(r["throughput_fps"][i] - r["median_fps"]) == min(
        abs(x - r["median_fps"]) for x in r["throughput_fps"])
    assert v["bottleneck"]["kind"] == "element"
    assert "more in verdict.json" not in repeated["fast-stdout"] or (d / "verdict.json").exists()
    assert "Over 3 runs:" in repeated["fast-stdout"]


def test_analyze_reads_the_repeats(repeated):
    d = repeated["fast"]
    r = cli("analyze", str(d))
    assert r.returncode == 0, r.stderr
    out = " ".join(r.stdout.split())  # as one line, however the terminal wrapped it
    assert "No buffer moved" not in out and "did it fail to start" not in out
    assert "Bottleneck: element jpegenc0" in out
    assert "Over 3 runs:" in out
    for i in (1, 2, 3):
        assert f"repeats/{i}: " in out
    assert "(nearest the median: the verdict above)" in out
    v = json.loads(cli("analyze", str(d), "--json").stdout)
    assert v["run"]["repeat"]["n"] == 3 and v["throughput_fps"] > 0


def test_report_draws_the_representative_with_the_spread(repeated, tmp_path):
    out = tmp_path / "r.html"
    r = cli("report", str(repeated["fast"]), "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert 'id="repeats"' in html and "The run nearest the median of 3 runs" in html
    assert "jpegenc0" in html and "No buffer moved" not in html


def test_a_repeat_directory_whose_repeats_are_gone_is_one_line(repeated, tmp_path):
    d = tmp_path / "broken"
    d.mkdir()
    shutil.copy(repeated["fast"] / "manifest.json", d / "manifest.json")
    for cmd in ("analyze", "report"):
        r = cli(cmd, str(d))
        assert r.returncode == 2, r.stderr
        lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and "a repeated run, but none of its repeats could be read" \
            in lines[0] and "repeats/1" in lines[0], r.stderr


def test_compare_gates_on_the_repeats(repeated):
    fast, slow = str(repeated["fast"]), str(repeated["slow"])
    r = cli("compare", fast, slow, "--fail-if-slower", "5", "--json")
    assert r.returncode == EXIT_GATE, r.stderr
    c = json.loads(r.stdout)
    assert c["a"]["runs"] == 3 and c["b"]["runs"] == 3 and c["noise"]["basis"] == "repeats"
    vf = json.loads((repeated["fast"] / "verdict.json").read_text())["run"]["repeat"]
    assert c["a"]["throughput_fps"] == pytest.approx(vf["mean_fps"], rel=1e-3)
    g = c["gate"]
    assert g["failed"] and "beyond the noise measured over the repeats" in g["reason"]
    assert "means of 3 and 3 runs" in g["reason"]
    assert "rerun with --repeat" not in r.stderr


def test_a_drop_within_the_repeats_noise_passes_with_a_note(repeated, tmp_path):
    # B: the two slowest of A's own three runs. Its mean is below A's, but by less than the
    # spread A's repeats measured (for three values, the drop is at most a third of their
    # range, the threshold at least their range): the gate at 0% must pass, and say why
    a = repeated["fast"]
    fps = json.loads((a / "verdict.json").read_text())["run"]["repeat"]["throughput_fps"]
    keep = sorted(range(3), key=lambda i: fps[i])[:2]
    b = tmp_path / "b"
    (b / "repeats").mkdir(parents=True)
    for i in keep:
        shutil.copytree(a / "repeats" / str(i + 1), b / "repeats" / str(i + 1))
    (b / "manifest.json").write_text(json.dumps({"repeats": [f"repeats/{i + 1}"
                                                             for i in keep]}))
    r = cli("compare", str(a), str(b), "--fail-if-slower", "0")
    assert r.returncode == 0, r.stderr
    note = [ln for ln in r.stderr.splitlines() if ln.startswith("pipesight: gate passed:")]
    assert len(note) == 1 and "within the noise measured over the repeats" in note[0]
    assert "rerun with --repeat" not in r.stderr + r.stdout
