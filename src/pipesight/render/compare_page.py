"""The side-by-side HTML view of a comparison: each side's graph and charts as report.html
draws them (report_page.report_data), kept apart by SVG id prefixes."""

from __future__ import annotations

from pipesight.compare.comparison import Comparison
from pipesight.compare.side import Side
from pipesight.render import compare_html
from pipesight.render.compare_json import to_dict
from pipesight.render.report_page import report_data


def side_view(tag: str, s: Side) -> compare_html.SideView:
    if s.trace is None or s.metrics is None or s.analysed is None:
        return compare_html.SideView(tag, s.label, None,
                                     f"{tag} is a {s.kind}: it has no trace to draw graphs and "
                                     "timelines from (compare run directories for them).")
    data = report_data(s.trace, s.metrics, s.analysed, id_prefix=f"{tag.lower()}-")
    return compare_html.SideView(tag, s.label, data)


def page(c: Comparison, a: Side, b: Side) -> str:
    return compare_html.render(to_dict(c), [side_view("A", a), side_view("B", b)])
