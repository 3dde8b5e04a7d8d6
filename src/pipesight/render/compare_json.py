"""compare --json: the comparison as plain data (schema 1, docs/compare.md)."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from pipesight.compare.comparison import SCHEMA, Change, Comparison, Row
from pipesight.compare.noise import Z
from pipesight.render.json_out import _clean

SECTION_KEYS = {"element": "elements", "sink": "sinks", "thread": "threads", "queue": "queues",
                "drops": "drops", "latency": "latency_elements", "path": "latency_paths",
                "gpu": "gpus", "nvtx": "nvtx"}


def change_dict(c: Change) -> dict[str, Any]:
    s = c.spec
    return {
        "metric": c.metric, "label": s.label, "unit": s.unit, "a": _r(c.a), "b": _r(c.b),
        "delta": _r(c.delta), "delta_pct": _r(c.delta_pct, 2), "threshold": _r(c.threshold),
        "basis": c.basis, "significant": c.significant, "better": c.better,
    }


def row_dict(r: Row) -> dict[str, Any]:
    d: dict[str, Any] = {"a": r.a, "b": r.b}
    if r.section == "element":
        d.update({"match": r.how, "type_a": r.type_a, "type_b": r.type_b})
    d["significant"] = r.significant
    d["changes"] = {k: change_dict(c) for k, c in r.changes.items()}
    return d


def to_dict(c: Comparison) -> dict[str, Any]:
    m = c.matching
    out: dict[str, Any] = {
        "schema": SCHEMA,
        "status": c.status,
        "summary": c.sentence,
        "a": asdict(c.a),
        "b": asdict(c.b),
        "throughput": change_dict(c.throughput),
        "bottleneck": asdict(c.bottleneck),
        "prediction": None if c.prediction is None else {
            **asdict(c.prediction), "error_pct": _r(c.prediction.error_pct, 2),
            "held": c.prediction.held},
        "noise": {
            "basis": c.noise_basis,
            "rule": (f"a change counts when |B - A| > {Z:g} x sqrt(sd_A^2 + sd_B^2) over the "
                     "repeats (a side run once borrows the other's sd), and at least the "
                     "metric's floor" if c.noise_basis == "repeats" else
                     "a change counts when it exceeds the metric's default margin, "
                     "max(rel x |A|, abs)"),
            "margins": c.margins,
        },
    }
    for section, key in SECTION_KEYS.items():
        out[key] = [row_dict(r) for r in c.section(section)]
    out["shape"] = {
        "same": not m.only_a and not m.only_b,
        "only_a": m.only_a,
        "only_b": m.only_b,
        "renamed": [[p.a, p.b, p.how] for p in m.pairs if p.renamed],
        "replaced": [[p.a, p.b, p.type_a, p.type_b] for p in m.pairs if p.replaced],
        "matched_by_position": m.by_links,
    }
    out["gate"] = c.gate
    out["notes"] = c.notes
    return out


def dumps(c: Comparison) -> str:
    return json.dumps(_clean(to_dict(c)), indent=2, ensure_ascii=True, allow_nan=False)


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(float(x), nd)
