"""pipesight graph DOTFILE [-o out.svg|out.png|out.dot] [--run RUN]: draw a GStreamer pipeline
graph dump legibly (pads hidden, caps on hover), coloured by cost with a run's verdict."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from pipesight.errors import UserError

FORMATS = {".svg": "svg", ".png": "png", ".dot": "dot", ".gv": "dot"}


def register(sub: argparse._SubParsersAction) -> None:
    gr = sub.add_parser("graph", help="draw a GStreamer DOT dump legibly, optionally coloured "
                        "by cost", description="Render a pipeline graph dumped by GStreamer "
                        "(GST_DEBUG_DUMP_DOT_DIR) as SVG or PNG: one box per element, bins as "
                        "clusters, proxy pads and long caps hidden (caps on hover in SVG).")
    gr.add_argument("dotfile", metavar="DOTFILE")
    gr.add_argument("-o", "--output", metavar="FILE",
                    help="out.svg, out.png or out.dot (default: NAME.svg here)")
    gr.add_argument("--run", metavar="RUN", help="colour elements by cost from this run "
                    "directory's verdict (analyzed now if it has no verdict.json)")
    gr.add_argument("--no-fold", action="store_true",
                    help="draw every branch, even many identical ones")
    gr.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    from pipesight.readers import dot as dot_reader
    from pipesight.readers.source import resolve
    from pipesight.render import graphviz
    from pipesight.render.dot_writer import to_dot
    from pipesight.render.pipeline_graph import build_graph

    src = resolve(a.dotfile)
    if not src.is_file():
        raise UserError(f"{src}: a directory, not a DOT file")
    named = Path(a.dotfile)  # what the user called it (src may be a pipe's copy)
    out = Path(a.output) if a.output else Path(named.stem + ".svg")
    fmt = FORMATS.get(out.suffix.lower())
    if fmt is None:
        raise UserError(f"{out}: the output must end in .svg, .png or .dot")
    g = dot_reader.read(src)
    if not any(True for _ in g.topology.leaf_elements()):
        raise UserError(f"{src}: no GStreamer elements found in this DOT graph")
    costs = _costs(Path(a.run)) if a.run else None
    title = " ".join(x for x in (g.pipeline_name, g.pipeline_state) if x) or named.stem
    pg = build_graph(g.topology, title=title, costs=costs, link_caps=g.link_caps,
                     states=g.states, fold=not a.no_fold)
    if costs is not None:
        missing = set(costs.elements) - {n.name for n in pg.nodes} - set(pg.names.values())
        if costs.elements and len(missing) == len(costs.elements):
            raise UserError(f"none of the elements of {a.run} is in {src}: is it the same "
                            "pipeline?")
    text = to_dot(pg)
    try:
        if fmt == "dot":
            out.write_text(text, encoding="utf-8")
        elif fmt == "svg":
            svg = graphviz.embeddable_svg(graphviz.render(text, "svg"), pg.tooltips())
            out.write_text('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + svg,
                           encoding="utf-8")
        else:
            out.write_bytes(graphviz.render(text, "png"))
    except OSError as e:
        raise UserError(f"cannot write {out}: {e.strerror}") from None
    print(f"pipesight: wrote {out} ({len(pg.nodes)} elements"
          + (f"; {'; '.join(pg.notes)}" if pg.notes else "") + ")")
    return 0


def _costs(run_dir: Path):
    from pipesight.render.graph_costs import GraphCosts

    vpath = run_dir / "verdict.json"
    if vpath.is_file():
        try:
            d = json.loads(vpath.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise UserError(f"{vpath}: not a readable verdict ({e})") from None
        if not isinstance(d, dict):
            raise UserError(f"{vpath}: not a pipesight verdict")
        return GraphCosts.from_verdict(d)
    from pipesight.workflows.answer import analyze_path

    _, _, v, _ = analyze_path(run_dir)
    return GraphCosts.from_verdict(v.to_dict())
