"""compare's inputs: every mistake is one line and exit 2; files `analyze` reads are compared
through the analysis (here a real latency-tracer log from the corpus); verdict.json files
written by `analyze --json` compare like the input they came from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipesight.workflows.sides import compare_paths

LOG = Path("gst") / "podborski_latency_traces.log"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=120)


def error_line(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert lines[0].startswith("pipesight")
    return lines[0]


@pytest.fixture
def verdict_file(tmp_path, corpus) -> Path:
    r = cli("analyze", str(corpus / LOG), "--json")
    assert r.returncode == 0, r.stderr
    p = tmp_path / "verdict.json"
    p.write_text(r.stdout)
    return p


def test_missing_path(tmp_path):
    line = error_line(cli("compare", str(tmp_path / "nope"), str(tmp_path / "nope2")))
    assert "no such file or directory" in line and "nope" in line


def test_empty_file(tmp_path):
    p = tmp_path / "empty.json"
    p.write_bytes(b"")
    assert "empty" in error_line(cli("compare", str(p), str(p)))


def test_broken_json(tmp_path):
    p = tmp_path / "verdict.json"
    p.write_text('{"schema": 1, "bottleneck": ')
    assert "not valid JSON" in error_line(cli("compare", str(p), str(p)))


def test_json_that_is_no_verdict(tmp_path):
    p = tmp_path / "other.json"
    p.write_text(json.dumps({"traceEvents": []}))
    assert "not a format pipesight reads" in error_line(cli("compare", str(p), str(p)))


def test_verdict_of_another_schema(tmp_path, verdict_file):
    d = json.loads(verdict_file.read_text())
    d["schema"] = 99
    p = tmp_path / "v99.json"
    p.write_text(json.dumps(d))
    line = error_line(cli("compare", str(verdict_file), str(p)))
    assert "schema 99" in line and "schema 1" in line


def test_directory_that_is_no_run(tmp_path):
    (tmp_path / "d").mkdir()
    assert "neither a pipesight run directory" in error_line(
        cli("compare", str(tmp_path / "d"), str(tmp_path / "d")))


def test_damaged_repeat_run(tmp_path):
    d = tmp_path / "rep"
    (d / "repeats" / "1").mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps({"repeats": ["repeats/1"], "summary": {}}))
    assert "none of its repeats could be read" in error_line(cli("compare", str(d), str(d)))


@pytest.mark.parametrize("args", [["--fail-if-slower", "-1"], ["--fail-if-slower", "100"],
                                  ["--margin", "0"], ["--fail-if-slower", "x"]])
def test_bad_options(tmp_path, args):
    error_line(cli("compare", str(tmp_path), str(tmp_path), *args))


def test_profile_gate_needs_a_positive_rate():
    line = error_line(cli("profile", "--fail-under-fps", "0", "--", "true"))
    assert "--fail-under-fps" in line


def test_trace_file_and_its_verdict_compare_alike(corpus, verdict_file):
    """The log (analysed again) and the verdict.json written from it: same numbers, no change,
    elements paired by name; the log alone has latency records only, so no throughput."""
    c = compare_paths(corpus / LOG, verdict_file)
    assert c.a.kind == "GStreamer tracer log" and c.b.kind == "verdict.json"
    assert c.status == "no throughput"
    assert not c.bottleneck.moved
    v = json.loads(verdict_file.read_text())
    # every latency the verdict holds is compared, paired with itself, and did not change
    paths = {r.a: r for r in c.section("path")}
    elements = {r.a: r for r in c.section("latency")}
    assert set(paths) == {x["name"] for x in v["latency"]["pipeline"]} and paths
    assert set(elements) == {x["name"] for x in v["latency"]["elements"]} and elements
    for x in v["latency"]["elements"]:
        r = elements[x["name"]]
        assert r.b == x["name"]
        assert r.changes["latency_ms"].a == r.changes["latency_ms"].b == x["mean_ms"]
    assert not any(ch.significant for r in c.rows for ch in r.changes.values())
    assert "neither run has a throughput" in c.sentence
    r = cli("compare", str(corpus / LOG), str(verdict_file), "--fail-if-slower", "5")
    assert r.returncode == 5
    assert "A has no throughput" in r.stderr


def test_documented_margins_are_the_ones_used():
    """docs/compare.md's margin table holds every metric with the margins the code applies."""
    from pipesight.compare.noise import SPECS

    doc = (Path(__file__).resolve().parent.parent / "docs" / "compare.md").read_text()
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].startswith("`") and cells[0].endswith("`"):
            rows[cells[0].strip("`")] = cells
    assert set(rows) == set(SPECS)
    for metric, s in SPECS.items():
        _, _, rel, abs_, floor, better = rows[metric]
        assert rel == (f"{100 * s.rel:g}%" if s.rel else "-"), metric
        assert float(abs_.split()[0]) == s.abs and float(floor.split()[0]) == s.floor, metric
        assert better == {True: "higher", False: "lower", None: "-"}[s.higher_is_better]
