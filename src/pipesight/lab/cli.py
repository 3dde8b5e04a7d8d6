"""`pipesight lab list` and `pipesight lab run NAME`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from pipesight.errors import UserError
from pipesight.lab import runner
from pipesight.lab.scenarios import SCENARIOS, by_name, ground_truth
from pipesight.workflows.outputs import emit


def run(a: argparse.Namespace) -> int:
    if a.lab_cmd == "list":
        return _list()
    s = by_name(a.name)
    if s is None:
        raise UserError(f"no lab scenario {a.name!r}; `pipesight lab list` shows them")
    res = runner.run(s, Path(a.output) if a.output else None, renamed=a.renamed, fixed=a.fixed,
                     duration_s=a.duration, variant=a.variant)
    emit(res.verdict, None, as_json=a.json)
    if not a.json:
        print(f"Run directory: {res.run_dir}")
        mark = "as planted" if res.ok else "NOT as planted"
        print(f"lab {s.name}: {mark} — {res.why}", file=sys.stderr)
    return 0 if res.ok else 1


def _list() -> int:
    gt = ground_truth()
    t = Table(box=None, header_style="bold")
    for col in ("scenario", "planted bottleneck", "expected verdict", "ground truth"):
        t.add_column(col)
    for s in SCENARIOS:
        g = gt.get(s.name, {})
        truth = (f"{g['fps']:.0f} → {g['fixed_fps']:.0f} fps fixed (x{g['ratio']:.1f})"
                 if g else "not measured")
        names = runner.default_names(s)
        culprit = (s.expect_element.format(**names) if s.expect_element and "{" in
                   s.expect_element else names.get(s.expect_element or ""))
        exp = s.expect_kind + (f" {culprit}" if s.expect_element else
                               f" ({s.expect_factory})" if s.expect_factory else "")
        if s.variants:
            truth += "; variants: " + ", ".join(v.action for v in s.variants)
        t.add_row(escape(s.name), escape(s.planted), escape(exp), escape(truth))
    Console().print(t)
    return 0
