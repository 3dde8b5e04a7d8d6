"""One side of a comparison, from whatever the user names.

- a run directory: analysed again from its trace (`pipesight.workflows.answer.analyze_path`), which
  also gives the graph's links;
- a repeated run (`profile --repeat N`: RUN/manifest.json lists RUN/repeats/1..N): every
  repeat analysed, the one nearest the median throughput speaking for all (as profile does);
- a verdict.json: its numbers as written, names only (no links);
- any other file `pipesight analyze` reads (tracer logs, Nsight Systems exports once a
  reader for them is registered): through analyze_path, knowing nothing of the format.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pipesight.compare.comparison import Comparison
from pipesight.compare.diff import compare
from pipesight.compare.graph import ElementGraph
from pipesight.compare.side import Side
from pipesight.errors import UserError
from pipesight.findings import SCHEMA_VERSION
from pipesight.readers import run_dir as run_dir_reader
from pipesight.readers.run_dir import repeat_dirs
from pipesight.workflows.answer import REPEATED, analyze_path, answer

VERDICT_JSON = "verdict.json"


def load_side(path: Path) -> Side:
    if not path.exists():
        raise UserError(f"{path}: no such file or directory")
    if path.is_dir():
        if repeat_dirs(path) is not None:
            return _load_repeats(path)
        if run_dir_reader.is_run_dir(path):
            try:
                return _analysed(path)
            except UserError as e:
                if not (path / VERDICT_JSON).is_file():
                    raise
                side = _from_verdict_file(path / VERDICT_JSON, str(path))
                side.notes.append(f"{path}: its trace could not be read ({e}); its "
                                  "verdict.json is used")
                return side
        if (path / VERDICT_JSON).is_file():
            return _from_verdict_file(path / VERDICT_JSON, str(path))
        raise UserError(f"{path}: a directory, but neither a pipesight run directory nor one "
                        "holding a verdict.json")
    verdict = _read_verdict(path)
    if verdict is not None:
        return _verdict_side(verdict, str(path))
    return _analysed(path)


def _analysed(path: Path) -> Side:
    trace, metrics, verdict, kind = analyze_path(path)
    vd = verdict.to_dict()
    side = Side(str(path), kind, vd, [vd], ElementGraph.from_topology(trace.topology, vd),
                trace, metrics, verdict, path if path.is_dir() else None)
    if trace.extras.get("truncated"):
        side.notes.append(f"{path}: the input looks truncated; analysed as far as it goes")
    if trace.run.get("failed"):
        side.notes.append(f"{path}: the profiled command failed ({trace.run.get('failure')})")
    if side.graph.duplicate_names:
        side.notes.append(f"{path}: several elements are named "
                          f"{', '.join(sorted(set(side.graph.duplicate_names))[:3])}; "
                          "only the first of each is compared")
    return side


def _load_repeats(path: Path) -> Side:
    ans = answer(path)
    vd = ans.verdict.to_dict()
    runs = [vd if v is ans.verdict else v.to_dict() for v in ans.repeats]
    notes = [f"{path}: {n}" for n in ans.notes]
    here = next(i for i, v in enumerate(ans.repeats) if v is ans.verdict)
    for d, v in zip(ans.repeat_dirs, ans.repeats, strict=True):
        if v.run.get("failed"):
            notes.append(f"{d}: the profiled command failed ({v.run.get('failure')})")
    bottlenecks = {(r["bottleneck"].get("kind"), r["bottleneck"].get("element")) for r in runs}
    if len(bottlenecks) > 1:
        notes.append(f"{path}: the bottleneck differed between repeats: "
                     + ", ".join(f"{k} {e or ''}".strip() for k, e in sorted(
                         bottlenecks, key=str)))
    return Side(str(path), REPEATED, vd, runs,
                ElementGraph.from_topology(ans.trace.topology, vd), ans.trace, ans.metrics,
                ans.verdict, ans.repeat_dirs[here], notes)


def _read_verdict(path: Path) -> dict[str, Any] | None:
    """The file's verdict when it is a pipesight verdict.json; None when it is not JSON."""
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    if not head.startswith(b"{"):
        return None
    try:
        d = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(d, dict) or "bottleneck" not in d or "schema" not in d:
        return None  # another JSON format: perhaps one a reader knows
    if d.get("schema") != SCHEMA_VERSION:
        raise UserError(f"{path}: verdict schema {d.get('schema')!r}; this pipesight reads "
                        f"schema {SCHEMA_VERSION}")
    if not isinstance(d.get("bottleneck"), dict):
        raise UserError(f"{path}: a verdict.json without a bottleneck object")
    return d


def _from_verdict_file(path: Path, label: str) -> Side:
    vd = _read_verdict(path)
    if vd is None:
        raise UserError(f"{path}: not a pipesight verdict.json")
    return _verdict_side(vd, label)


def _verdict_side(vd: dict[str, Any], label: str) -> Side:
    return Side(label, "verdict.json", vd, [vd], ElementGraph.from_verdict(vd))


def compare_paths(a: Path, b: Path, margin_pct: float | None = None) -> Comparison:
    """Loads both inputs and compares them (`pipesight compare`'s work, without rendering)."""
    return compare(load_side(a), load_side(b), margin_pct=margin_pct)
