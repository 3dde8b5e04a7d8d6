"""report.html: one self-contained file (styles, script and drawings inline, nothing fetched),
rendered with Jinja2 with autoescaping on. Its Content-Security-Policy allows only this
file's own style and script (by hash) and no network at all, so that even a string that
escaped escaping could neither run nor call out."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import jinja2
from markupsafe import Markup

from pipesight import __version__
from pipesight.render.evidence_labels import label
from pipesight.render.graph_costs import NO_DATA, legend_stops
from pipesight.render.watch_view import WatchView


@dataclass
class GraphView:
    title: str
    source: str  # where the topology came from, said under the graph
    svg: Markup | None = None
    error: str | None = None  # why there is no drawing
    notes: list[str] = field(default_factory=list)


@dataclass
class Chart:
    svg: Markup
    legend: list[tuple[str, str]] = field(default_factory=list)  # label, colour
    more: int = 0  # series left out


@dataclass
class ThreadChart:
    label: str
    busy_pct: float | None
    owner: str | None
    svg: Markup
    legend: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class ReportData:
    verdict: dict[str, Any]  # Verdict.to_dict()
    title: str | None = None  # what ran and what limits it: the page's title and heading
    command: str | None = None
    host: str | None = None
    generated: str = ""
    graphs: list[GraphView] = field(default_factory=list)
    node_ids: dict[str, str] = field(default_factory=dict)  # element name -> SVG id
    throughput: Chart | None = None
    queues: Chart | None = None
    gpu: Chart | None = None  # GPU busy share, on the threads' clock
    sampled: list[tuple[str, Chart]] = field(default_factory=list)  # by unit: NVML, tegrastats
    threads: list[ThreadChart] = field(default_factory=list)
    threads_more: int = 0
    notes: list[str] = field(default_factory=list)
    watch: WatchView | None = None  # a watch run's bottleneck over time


def _asset(name: str) -> str:
    return resources.files("pipesight.render").joinpath("templates", name).read_text("utf-8")


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode() \
        + "'"


def _env() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("pipesight.render", "templates"),
        autoescape=True,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["words"] = lambda metric: label(str(metric)) or str(metric)
    return env


def render(data: ReportData) -> str:
    v = data.verdict
    findings = v.get("findings") or []
    top = next((f for f in findings if f.get("stance") == "verdict"), None)
    others = [f for f in findings if f is not top]
    css, js = _asset("report.css"), _asset("report.js")
    csp = (f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; "
           "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")
    return _env().get_template("report.html.j2").render(
        v=v, top=top, others=others, css=Markup(css), js=Markup(js), csp=csp,
        version=__version__, title=data.title, command=data.command,
        host=data.host,
        generated=data.generated, graphs=data.graphs, node_ids=data.node_ids,
        throughput=data.throughput, queues=data.queues, threads=data.threads,
        gpu=data.gpu, sampled=data.sampled, watch=data.watch,
        threads_more=data.threads_more, notes=data.notes, scale=legend_stops(),
        no_data=NO_DATA,
    )
