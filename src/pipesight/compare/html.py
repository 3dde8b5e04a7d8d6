"""Gathers what the side-by-side HTML view draws: the comparison, and each side's graph and
charts as report.html draws them (report.report_data), kept apart by SVG id prefixes."""

from __future__ import annotations

from pathlib import Path

from pipesight.compare.diff import Comparison
from pipesight.compare.inputs import Side
from pipesight.render import compare_html
from pipesight.render.compare_json import to_dict
from pipesight.report import report_data


def side_view(tag: str, s: Side) -> compare_html.SideView:
    if s.trace is None or s.metrics is None or s.analysed is None:
        return compare_html.SideView(tag, s.label, None,
                                     f"{tag} is a {s.kind}: it has no trace to draw graphs and "
                                     "timelines from (compare run directories for them).")
    data = report_data(s.trace, s.metrics, s.analysed, s.run_dir, id_prefix=f"{tag.lower()}-")
    return compare_html.SideView(tag, s.label, data)


def write_html(c: Comparison, a: Side, b: Side, out: Path) -> None:
    html = compare_html.render(to_dict(c), [side_view("A", a), side_view("B", b)])
    out.write_text(html, encoding="utf-8")
