"""Report generation for a long run: a synthetic 1-hour, 30-element, 8-thread, 30 fps trace
(bench/synthetic_trace.py), analyzed, then report.html and trace.json written and timed.

    .venv/bin/python bench/report_bench.py [--seconds 3600] [--out DIR]

Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import synthetic_trace

from pipesight.metrics import timelines
from pipesight.render import perfetto
from pipesight.workflows.answer import analyze_trace
from pipesight.workflows.outputs import write_html


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=3600.0)
    ap.add_argument("--out", type=Path, default=None, help="keep the files here")
    a = ap.parse_args()
    out = a.out or Path(tempfile.mkdtemp(prefix="pipesight-report-bench-"))
    out.mkdir(parents=True, exist_ok=True)

    timing: dict[str, tuple[float, float]] = {}

    def timed(name: str, fn):
        w, c = time.perf_counter(), time.process_time()
        r = fn()
        timing[name] = (time.perf_counter() - w, time.process_time() - c)
        return r

    def t(name: str) -> str:
        w, c = timing[name]
        return f"{w:.2f} s ({c:.2f} s CPU)"

    load = os.getloadavg()[0]
    trace = timed("build", lambda: synthetic_trace.build(a.seconds))
    metrics, verdict = timed("analyze", lambda: analyze_trace(trace))
    # as `profile` and `analyze` write them: the series computed once for both files
    series = timed("series", lambda: timelines.compute(trace, metrics))
    html = out / "report.html"
    timed("html", lambda: write_html(trace, metrics, verdict, html, series=series))
    tj = out / "trace.json"
    stats = timed("json", lambda: perfetto.write(trace, metrics, tj, verdict=verdict,
                                                 timelines=series))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    both = tuple(sum(timing[k][i] for k in ("series", "html", "json")) for i in (0, 1))

    rows = [
        ("trace", f"{a.seconds / 3600:g} h, {sum(1 for _ in trace.topology.leaf_elements())} "
                  f"elements, {len(trace.threads)} threads, {verdict.throughput_fps:.1f} fps, "
                  f"{len(trace.frames):,} frames, {len(trace.flow):,} flow rows"),
        ("synthesise the trace (not part of the report)", t("build")),
        ("analyze: metrics + verdict (not part of the report)", t("analyze")),
        ("timelines for both files (fps, queue levels, busy per thread)", t("series")),
        ("**report.html**: charts, graph (Graphviz), template", f"**{t('html')}**"),
        ("report.html size", f"**{html.stat().st_size / 1e6:.2f} MB**"),
        ("**trace.json**: slices, aggregation, counters, writing", f"**{t('json')}**"),
        ("trace.json size", f"**{tj.stat().st_size / 1e6:.1f} MB**"),
        ("**both files, from the analyzed trace to disk**",
         f"**{both[0]:.2f} s ({both[1]:.2f} s CPU)**"),
        ("trace.json slices kept one by one / aggregated / counter events",
         f"{stats['slices']:,} / {stats['aggregated_slices']:,} "
         f"(buckets of {stats['bucket_ms']} ms) / {stats['counter_events']:,}"),
        ("peak memory of the whole run (RSS)", f"{peak_mb:,.0f} MB"),
    ]
    print(f"machine: {_cpu()}, {len(os.sched_getaffinity(0))} CPUs (load average {load:.1f} "
          f"at the start), Python {platform.python_version()}; date: {date.today().isoformat()}")
    print("| step | wall (CPU) / result |\n|---|---|")
    for k, v in rows:
        print(f"| {k} | {v} |")
    print(f"files in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
