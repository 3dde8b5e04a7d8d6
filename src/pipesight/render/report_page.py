"""What report.html draws, gathered from a trace, its metrics and its verdict: the verdict,
the pipeline graph as a heat map (the captured graph where it holds every element the verdict
names, else the trace's own topology), timelines and tables, as ``html_report.ReportData``.

It formats what the metrics computed; writing the file is the caller's (workflows/outputs)."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import numpy as np
from markupsafe import Markup

from pipesight.findings import Verdict
from pipesight.metrics import Metrics
from pipesight.metrics import timelines as tl
from pipesight.render import graphviz, report_title
from pipesight.render.dot_writer import to_dot
from pipesight.render.graph_costs import GraphCosts
from pipesight.render.html_report import Chart, GraphView, ReportData, ThreadChart
from pipesight.render.pipeline_graph import PipelineGraph, build_graph
from pipesight.render.svg_charts import OTHER, PALETTE, Layer, Line, line_chart, stacked_chart
from pipesight.render.watch_view import watch_view
from pipesight.trace import Trace

MAX_LINES = 8  # series per chart
MAX_THREADS = 16  # busy timelines drawn


@dataclass
class GraphInput:
    """A topology to draw and where it came from."""

    title: str
    source: str
    topology: Any
    link_caps: dict[tuple[int, int], str] | None = None
    states: dict[int, str] | None = None


def report_data(trace: Trace, metrics: Metrics, verdict: Verdict,
                series: tl.Timelines | None = None, id_prefix: str = "",
                name: str | None = None) -> ReportData:
    """``id_prefix`` keeps the SVG ids of several reports' graphs in one page apart; ``name``
    is the run's (its directory's) for the title."""
    vd = verdict.to_dict()
    run = trace.run or {}
    data = ReportData(
        verdict=vd,
        title=report_title.title(vd, run, name),
        command=_command(run),
        host=_host(run),
        generated=datetime.now(timezone.utc).strftime("generated %Y-%m-%d %H:%M UTC"),
        notes=list(trace.notes),
    )
    data.watch = watch_view(trace.intervals)
    costs = GraphCosts.from_verdict(vd)
    inputs, notes = graph_inputs(trace, vd)
    data.notes.extend(notes)
    for k, gi in enumerate(inputs, 1):
        view, ids = draw(gi, costs, f"{id_prefix}g{k}-")
        data.graphs.append(view)
        for name, nid in ids.items():
            data.node_ids.setdefault(name, nid)
    if metrics.window is not None:
        series = series if series is not None else tl.compute(trace, metrics)
        data.throughput = _throughput_chart(metrics, series.throughput)
        data.queues = _queue_chart(metrics, series.queues)
        data.threads, data.threads_more = _thread_charts(trace, metrics, vd, series.busy)
        data.gpu = _lines_chart(metrics, series.gpu, "% busy (Nsight Systems)")
        by_unit: dict[str, list[tl.Series]] = {}
        for s in series.sampled:
            by_unit.setdefault(s.unit, []).append(s)
        for unit, ss in by_unit.items():
            ch = _lines_chart(metrics, ss, f"{unit} (samplers)")
            if ch is not None:
                data.sampled.append((unit, ch))
    return data


# -- the graph -------------------------------------------------------------------------


def graph_inputs(trace: Trace, vd: dict[str, Any]) -> tuple[list[GraphInput], list[str]]:
    """The captured pipeline graphs when they hold every element the verdict names, else the
    trace's own topology."""
    notes: list[str] = []
    names = {r["name"] for r in vd.get("elements") or []}
    graphs: list[GraphInput] = []
    seen: set[str] = set()
    for name, g in trace.graphs:
        seen |= {e.name for e in g.topology.leaf_elements()}
        title = " ".join(x for x in (g.pipeline_name, g.pipeline_state) if x) or name
        graphs.append(GraphInput(title, f"the captured graph {name}", g.topology, g.link_caps,
                                 g.states))
    missing = {n for n in names if not n.startswith("probe@")} - seen
    if graphs and not missing:
        return graphs, notes
    if graphs:
        notes.append(f"the captured pipeline graph lacks {len(missing)} element(s) the trace saw"
                     f" (e.g. {sorted(missing)[0]!r}); the graph is drawn from the trace instead")
    if not trace.topology.elements:
        return [], notes
    return [GraphInput(_top_bins(trace) or "pipeline", "the elements and links the trace recorded",
                       trace.topology)], notes


def draw(gi: GraphInput, costs: GraphCosts | None, id_prefix: str = ""
         ) -> tuple[GraphView, dict[str, str]]:
    """An embeddable SVG of one topology, and the SVG id of each element drawn."""
    g = build_graph(gi.topology, title=gi.title, costs=costs, link_caps=gi.link_caps,
                    states=gi.states)
    view = GraphView(title=gi.title, source=gi.source, notes=list(g.notes))
    ids = node_ids(g, id_prefix)
    try:
        svg = graphviz.render(to_dot(g, id_prefix), "svg")
        view.svg = Markup(graphviz.embeddable_svg(svg, g.tooltips(), "pipeline-graph"))
    except graphviz.GraphvizError as e:
        view.error = str(e)
    return view, ids


def node_ids(g: PipelineGraph, prefix: str) -> dict[str, str]:
    ids: dict[str, str] = {}
    by_element = {n.element: n for n in g.nodes}
    for n in g.nodes:
        ids[n.name] = f"{prefix}node-{n.id}"
    for hidden, rep in g.folded_into.items():
        r = by_element.get(rep)
        if r is not None:
            ids.setdefault(g.names.get(hidden, ""), f"{prefix}node-{r.id}")
    ids.pop("", None)
    return ids


# -- charts ----------------------------------------------------------------------------


def _secs(ts: np.ndarray, origin: int) -> np.ndarray:
    return (np.asarray(ts, float) - origin) / 1e9


def _throughput_chart(m: Metrics, series: list[tl.Series]) -> Chart | None:
    return _lines_chart(m, series, "frames/s into the sink")


def _lines_chart(m: Metrics, series: list[tl.Series], y_label: str) -> Chart | None:
    w = m.window
    if w is None or not series:
        return None
    shown = series[:MAX_LINES]
    lines = [Line(s.label, _secs(s.ts, w.start), s.value, PALETTE[i % len(PALETTE)])
             for i, s in enumerate(shown)]
    svg = line_chart(lines, x_range=(0.0, w.seconds), y_label=y_label)
    return Chart(svg, [(ln.label, ln.colour) for ln in lines], len(series) - len(shown))


def _queue_chart(m: Metrics, series: list[tl.Series]) -> Chart | None:
    w = m.window
    if w is None or not series:
        return None
    shown = series[:MAX_LINES]
    lines = [Line(s.label, _secs(s.ts, w.start), s.value, PALETTE[i % len(PALETTE)], step=True)
             for i, s in enumerate(shown)]
    top = max((float(ln.y.max()) for ln in lines if ln.y.size), default=0.0)
    # a limit far above what was ever queued would flatten every line: show the near ones
    refs = [(f"{s.label} max-size-buffers {s.limit:g}", float(s.limit), ln.colour)
            for s, ln in zip(shown, lines, strict=True) if s.limit and s.limit <= 2 * top + 1]
    svg = line_chart(lines, x_range=(0.0, w.seconds), y_label="buffers queued", refs=refs)
    return Chart(svg, [(ln.label, ln.colour) for ln in lines], len(series) - len(shown))


def _thread_charts(trace: Trace, m: Metrics, vd: dict[str, Any], busy: list[tl.ThreadBusy]
                   ) -> tuple[list[ThreadChart], int]:
    if not busy:
        return [], 0
    # one colour per element across every thread, the busiest elements first
    totals: dict[int, float] = {}
    for tb in busy:
        for e, v in tb.layers:
            totals[e] = totals.get(e, 0.0) + float(v.sum())
    colour = {e: PALETTE[i % len(PALETTE)] for i, e in enumerate(
        sorted(totals, key=lambda e: -totals[e]))}
    rows = {r.get("thread"): r for r in vd.get("threads") or []}
    w = m.window
    assert w is not None
    out = []
    for tb in busy[:MAX_THREADS]:
        th = trace.threads[tb.thread]
        label = th.name or th.label()
        layers = [Layer(trace.topology.name(e), v, colour[e]) for e, v in tb.layers]
        if tb.other is not None:
            layers.append(Layer("other elements", tb.other, OTHER))
        svg = stacked_chart(_secs(tb.edges, w.start), layers)
        row = rows.get(label) or {}
        out.append(ThreadChart(label, row.get("busy_pct"), row.get("owner"), svg,
                               [(ly.label, ly.colour) for ly in layers]))
    return out, max(len(busy) - MAX_THREADS, 0)


# -- words -----------------------------------------------------------------------------


def _top_bins(trace: Trace) -> str | None:
    tops = [e.name for e in trace.topology.elements.values() if e.is_bin and e.parent is None]
    return ", ".join(tops[:3]) if tops else None


def _command(run: dict[str, Any]) -> str | None:
    if isinstance(run.get("command_line"), str):
        return run["command_line"]
    cmd = run.get("command")
    if isinstance(cmd, list) and all(isinstance(x, str) for x in cmd):
        return shlex.join(cmd)
    return None


def _host(run: dict[str, Any]) -> str | None:
    h = run.get("host")
    if not isinstance(h, dict):
        return None
    parts = [str(h[k]) for k in ("hostname", "cpu") if h.get(k)]
    if h.get("cpus"):
        parts.append(f"{h['cpus']} CPUs")
    if h.get("gstreamer"):
        parts.append(f"GStreamer {h['gstreamer']}")
    gpus = h.get("gpus")
    if isinstance(gpus, list) and gpus:
        parts.append(", ".join(str(g.get("name", g)) if isinstance(g, dict) else str(g)
                               for g in gpus))
    return " · ".join(parts) or None
