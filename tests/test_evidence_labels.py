"""Every evidence metric any analysis can emit has words in report.html
(render/evidence_labels.py): read from the analyses' source (each Evidence(...) they build:
a literal, an f-string with a subject or a family member, or a name bound to literals), and
from every committed verdict (tests/golden)."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

from pipesight.render.evidence_labels import LABELS, label

ROOT = Path(__file__).resolve().parent.parent
ANALYSES = ROOT / "src" / "pipesight" / "analyses"
GOLDEN = Path(__file__).resolve().parent / "golden"


def _sample(node: ast.JoinedStr) -> str:
    """An f-string metric made concrete: a part in brackets is a subject (any text), a part
    outside is a family member (an engine name, a reason)."""
    out = ""
    for v in node.values:
        if isinstance(v, ast.Constant):
            out += str(v.value)
        else:
            out += "queue0:src x" if out.endswith("[") else "nvdec"
    return out


def _bound_strings(tree: ast.AST, name: str) -> list[str]:
    """The string literals a name is assigned anywhere in the module (tuple unpacking too)."""
    found = []
    for n in ast.walk(tree):
        if not isinstance(n, ast.Assign):
            continue
        for t in n.targets:
            pairs = zip(t.elts, n.value.elts, strict=False) if isinstance(t, ast.Tuple) and \
                isinstance(n.value, ast.Tuple) else [(t, n.value)]
            for tgt, val in pairs:
                if isinstance(tgt, ast.Name) and tgt.id == name and isinstance(
                        val, ast.Constant) and isinstance(val.value, str):
                    found.append(val.value)
    return found


def emitted_metrics() -> dict[str, str]:
    """metric (or a concrete sample of it) -> where it is built."""
    out: dict[str, str] = {}
    for p in sorted(ANALYSES.glob("*.py")):
        tree = ast.parse(p.read_text("utf-8"))
        for n in ast.walk(tree):
            if not (isinstance(n, ast.Call) and getattr(n.func, "id", None) == "Evidence"
                    and n.args):
                continue
            a, at = n.args[0], f"{p.name}:{n.lineno}"
            if isinstance(a, ast.Constant):
                out[str(a.value)] = at
            elif isinstance(a, ast.JoinedStr):
                out[_sample(a)] = at
            elif isinstance(a, ast.Name) and _bound_strings(tree, a.id):
                for s in _bound_strings(tree, a.id):
                    out[s] = at
            else:
                out[f"<cannot read {ast.unparse(a)}>"] = at
    return out


def test_the_walk_reads_the_analyses() -> None:
    found = emitted_metrics()
    assert len(found) > 100
    assert "element_cpu_of_wall_pct" in found  # a literal
    assert "queue_before_full_pct[queue0:src x]" in found  # a subject
    assert "nvdec_busy_mean_pct" in found  # a family
    assert "frame_latency_mean_ms" in found  # a name bound to literals


def test_every_metric_an_analysis_can_emit_has_words() -> None:
    missing = {m: at for m, at in emitted_metrics().items() if label(m) is None}
    assert missing == {}


def test_every_metric_in_the_committed_verdicts_has_words() -> None:
    metrics = set()
    for p in sorted(GOLDEN.glob("*.json")):
        for f in json.loads(p.read_text()).get("findings") or []:
            metrics |= {e["metric"] for e in f.get("evidence") or []}
    assert len(metrics) > 30
    assert {m for m in metrics if label(m) is None} == set()


@pytest.mark.parametrize("metric, words", [
    ("element_cpu_of_wall_pct", "element's CPU time, share of its own time (computing)"),
    ("queue_after_empty_pct[queue1]", "queue after it (queue1) empty, share of the window"),
    ("nvdec1_busy_mean_pct", "NVDEC1 engine busy, mean over the run"),
    ("busy_samples_software_power_cap_pct", "busy samples held back by software power cap"),
])
def test_words_fill_in_the_subject_and_the_family(metric: str, words: str) -> None:
    assert label(metric) == words


def test_an_unknown_metric_has_no_words() -> None:
    """So the checks above can fail."""
    assert label("made_up_metric_pct") is None
    assert label("made_up[queue0]") is None
    assert all(w.strip() for w in LABELS.values())
