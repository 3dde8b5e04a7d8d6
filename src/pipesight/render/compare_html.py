"""The side-by-side HTML view of a comparison: one self-contained file under the same rules as
report.html (Jinja2 autoescaping, inline style and script allowed by hash only, no network)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from markupsafe import Markup

from pipesight import __version__
from pipesight.render.graph_costs import NO_DATA, legend_stops
from pipesight.render.html_report import ReportData, _asset, _env, _sha256

SECTIONS = [
    ("elements", "Elements", ["ms_per_buffer", "p99_ms", "thread_share_pct", "fps"]),
    ("threads", "Streaming threads", ["busy_pct", "cpu_pct"]),
    ("queues", "Queues", ["mean_fill_pct", "full_pct", "empty_pct"]),
    ("drops", "Dropped buffers", ["dropped", "dropped_pct"]),
    ("sinks", "Sinks", ["fps"]),
    ("latency_paths", "Latency, source to sink (latency tracer)", ["latency_ms",
                                                                   "latency_p99_ms"]),
    ("latency_elements", "Latency per element (latency tracer)", ["latency_ms",
                                                                  "latency_p99_ms"]),
    ("gpus", "GPUs", ["gpu_busy_pct", "gpu_idle_pct", "gpu_gaps_per_s"]),
    ("nvtx", "GPU time per NVTX range", ["gpu_ms_per_frame", "gpu_ms", "gpu_share_pct"]),
]
HEADS = {"ms_per_buffer": "ms/buffer", "p99_ms": "p99 ms", "thread_share_pct": "share of thread %",
         "fps": "fps", "busy_pct": "busy %", "cpu_pct": "CPU %", "mean_fill_pct": "mean fill %",
         "full_pct": "full % of time", "empty_pct": "empty % of time", "dropped": "dropped",
         "dropped_pct": "dropped %", "gpu_busy_pct": "busy %", "gpu_idle_pct": "idle in gaps %",
         "gpu_gaps_per_s": "gaps/s", "gpu_ms_per_frame": "GPU ms/frame", "gpu_ms": "GPU ms",
         "gpu_share_pct": "share of GPU time %", "latency_ms": "mean ms",
         "latency_p99_ms": "p99 ms"}
# shown with a relative change; the others (percentages of time) with points
PCT_METRICS = {"ms_per_buffer", "p99_ms", "fps", "dropped", "gpu_gaps_per_s", "gpu_ms",
               "gpu_ms_per_frame", "latency_ms", "latency_p99_ms"}


@dataclass
class SideView:
    tag: str  # "A" or "B"
    label: str
    data: ReportData | None  # graphs and charts, when the side was analysed from a trace
    note: str | None = None  # why there are none


def render(c: dict[str, Any], sides: list[SideView]) -> str:
    css = _asset("report.css") + _asset("compare.css")
    js = _asset("report.js")
    csp = (f"default-src 'none'; style-src {_sha256(css)}; script-src {_sha256(js)}; "
           "img-src 'none'; connect-src 'none'; form-action 'none'; base-uri 'none'")
    status_class = {"faster": "faster", "slower": "slower", "bottleneck moved": "moved"}.get(
        c.get("status"), "")
    a = sides[0].data if sides and sides[0].data else None
    # only the columns some row has (an Nsight export has no frames, a tracer log no GPU)
    sections = [(key, title, [m for m in metrics if any(m in r["changes"] for r in c[key])])
                for key, title, metrics in SECTIONS]
    drawn = [s.data for s in sides if s.data is not None]
    return _env().get_template("compare.html.j2").render(
        c=c, sides=sides, css=Markup(css), js=Markup(js), csp=csp, version=__version__,
        generated=datetime.now(timezone.utc).strftime("generated %Y-%m-%d %H:%M UTC"),
        status_class=status_class, sections=sections, heads=HEADS, pct_metrics=PCT_METRICS,
        has_graphs=any(d.graphs for d in drawn),
        has_charts={"throughput": any(d.throughput for d in drawn),
                    "queues": any(d.queues for d in drawn)},
        any_elements=bool(c["elements"] or c["shape"]["only_a"] or c["shape"]["only_b"]),
        node_ids_a=a.node_ids if a else {}, scale=legend_stops(), no_data=NO_DATA,
    )
