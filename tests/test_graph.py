"""`pipesight graph` on real DOT dumps (the corpus, GStreamer's own dumps, a profiled run's),
and the escaping of every user string on its way through Graphviz."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.cli import main
from pipesight.readers import dot as dot_reader
from pipesight.render import graphviz
from pipesight.render.dot_writer import to_dot
from pipesight.render.graph_costs import BOTTLENECK_COLOUR, GraphCosts, cost_colour
from pipesight.render.pipeline_graph import build_graph, short
from pipesight.trace import Element, Pad, Topology

SVG = "{http://www.w3.org/2000/svg}"
needs_dot = pytest.mark.skipif(not graphviz.available(), reason="Graphviz not installed")
pytestmark = needs_dot


def pipesight(*args: str) -> subprocess.CompletedProcess:
    """The CLI, in this process (as the entry point runs it): exit status and output."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(list(args))
        except SystemExit as e:  # argparse's own exits
            rc = int(e.code or 0)
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


def nodes(svg_path: Path) -> list[tuple[str, ET.Element]]:
    """(hover text, element) of each element box in an SVG we wrote."""
    root = ET.parse(svg_path).getroot()  # also proves the SVG is well-formed XML
    out = []
    for g in root.iter(f"{SVG}g"):
        if "node" in (g.get("class") or "").split():
            out.append((g.find(f"{SVG}title").text or "", g))
    return out


def edges(svg_path: Path) -> list[str]:
    root = ET.parse(svg_path).getroot()
    return [g.find(f"{SVG}title").text or "" for g in root.iter(f"{SVG}g")
            if g.get("class") == "edge"]


def corpus_dots(corpus: Path) -> list[Path]:
    found = sorted((corpus / "gst").glob("*.dot"))
    assert found, "the corpus has DOT graphs"
    return found


def test_every_corpus_dot_renders(corpus: Path, tmp_path: Path) -> None:
    for src in corpus_dots(corpus):
        g = dot_reader.read(src)
        leaves = {e.name for e in g.topology.leaf_elements()}
        svg, png = tmp_path / f"{src.stem}.svg", tmp_path / f"{src.stem}.png"
        for out in (svg, png):
            r = pipesight("graph", str(src), "-o", str(out))
            assert r.returncode == 0, (src.name, r.stderr)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        drawn = nodes(svg)
        # one box per element, no pad boxes (proxy pads and pads are hidden)
        assert {t.split("\n")[0] for t, _ in drawn} == leaves, src.name
        assert not any("proxypad" in t for t, _ in drawn)
        # a link's caps are kept for hovering: the edge's title holds them in full
        hover = "\n".join(edges(svg))
        for (a, b), caps in g.link_caps.items():
            ea, eb = g.topology.pads[a].element, g.topology.pads[b].element
            if (ea is not None and eb is not None and g.topology.processing_element(a)
                    and g.topology.processing_element(b)):
                assert caps in hover, (src.name, caps)
        # no internal id is left where a user would hover
        assert not any(t.startswith(("e1", "cluster_b")) for t in [*hover.split("\n")])


def test_demuxer_with_fifty_pads_stays_legible(corpus: Path, tmp_path: Path) -> None:
    src = corpus / "gst" / "dsl_state-playing2_streamdemux.dot"
    topo = dot_reader.read(src).topology
    assert len(topo.pads) > 150  # 50 request pads per demuxer, proxies, ghosts
    out = tmp_path / "demux.svg"
    assert pipesight("graph", str(src), "-o", str(out)).returncode == 0
    drawn = nodes(out)
    assert len(drawn) == sum(1 for _ in topo.leaf_elements())
    demux = [(t, g) for t, g in drawn if t.startswith("demuxer1-nvstreamdemux")]
    assert len(demux) == 1
    tip, g = demux[0]
    assert "unlinked pads: 49 src" in tip
    assert any("+49 unlinked pads" in (t.text or "") for t in g.iter(f"{SVG}text"))
    # a long chain is laid out top to bottom: taller than wide
    root = ET.parse(out).getroot()
    w, h = (float(root.get(k).removesuffix("pt")) for k in ("width", "height"))
    assert h > w


EVIL = ['a"b', "back\\slash\\N\\G", "<img src=x onerror=alert(1)>", "&lt;not an entity&gt;",
        "new\nline", "]]><!-- x -->", "tab\there'"]


def evil_topology() -> Topology:
    t = Topology()
    t.add_element(Element(100, "pipeline0", type="GstPipeline", is_bin=True))
    t.add_element(Element(1, 'bin "<b>" \\', type="GstBin", is_bin=True, parent=100))
    pid = 0
    for i, name in enumerate(EVIL, start=2):
        t.add_element(Element(i, name, type="Gst<Evil>", parent=1,
                              props={"location": '"/tmp/<x>&\\"'}))
        for d in ("sink", "src"):
            pid += 1
            t.add_pad(Pad(pid, d, d, element=i, caps=f'video/x-raw, format=(string)"{name}"'))
    for i in range(2, 1 + len(EVIL)):
        src_pad = 2 * (i - 2) + 2
        t.add_link(src_pad, src_pad + 1)
    return t


def test_user_strings_pass_through_graphviz_verbatim(tmp_path: Path) -> None:
    topo = evil_topology()
    g = build_graph(topo, title='pipe "<x>"')
    svg = graphviz.render(to_dot(g), "svg")  # dot accepts what we generate
    out = tmp_path / "evil.svg"
    out.write_text(graphviz.embeddable_svg(svg, g.tooltips()))
    drawn = nodes(out)
    assert len(drawn) == len(EVIL)
    for name in EVIL:
        node = next(gn for t, gn in drawn if t.split("\n")[0] == name.split("\n")[0])
        texts = [t.text or "" for t in node.iter(f"{SVG}text")]
        # label text is the name as written (control characters shown as U+FFFD)
        assert texts[0] == short(name.replace("\n", "\ufffd").replace("\t", "\ufffd"))
    root = ET.parse(out).getroot()
    clusters = [x for x in root.iter(f"{SVG}g") if x.get("class") == "cluster"]
    assert [c.find(f"{SVG}text").text for c in clusters] == ['bin "<b>" \\ (GstBin)']
    hover = "\n".join(edges(out))
    assert 'format=(string)"a"b"' in hover and "<img src=x onerror=alert(1)>" in hover
    raw = out.read_text()
    assert "<img" not in raw and "<!-- x" not in raw  # only escaped forms


def test_costs_colour_and_outline(tmp_path: Path) -> None:
    topo = evil_topology()
    costs = GraphCosts.from_verdict({
        "elements": [{"name": EVIL[0], "thread_share": 0.9, "mean_process_ms": 3.0,
                      "thread": "t1"},
                     {"name": EVIL[1], "thread_share": 0.1, "mean_process_ms": 0.2}],
        "queues": [], "bottleneck": {"element": EVIL[0], "kind": "element",
                                     "confidence": "confirmed"}})
    g = build_graph(topo, costs=costs)
    out = tmp_path / "c.svg"
    out.write_text(graphviz.embeddable_svg(graphviz.render(to_dot(g), "svg"), g.tooltips()))
    fills = {}
    for tip, node in nodes(out):
        shape = node.find(f"{SVG}path")
        fills[tip.split("\n")[0]] = (shape.get("fill"), shape.get("stroke"),
                                     "bottleneck" in node.get("class"))
    assert fills[EVIL[0]] == (cost_colour(0.9), BOTTLENECK_COLOUR, True)
    assert fills[EVIL[1]][0] == cost_colour(0.1) and not fills[EVIL[1]][2]
    assert cost_colour(0.9) != cost_colour(0.1)


@pytest.mark.parametrize("content", [
    b"this is not a graph\n", b"", b"\x00\x01\x02 binary \xff", b"digraph {",
    b"digraph pipeline { a -> b; }"])
def test_bad_dot_is_one_line(tmp_path: Path, content: bytes) -> None:
    src = tmp_path / "bad.dot"
    src.write_bytes(content)
    r = pipesight("graph", str(src), "-o", str(tmp_path / "o.svg"))
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_bad_arguments_are_one_line(corpus: Path, tmp_path: Path) -> None:
    src = corpus_dots(corpus)[0]
    for args in (["graph", str(tmp_path / "missing.dot")], ["graph", str(tmp_path)],
                 ["graph", str(src), "-o", str(tmp_path / "x.pdf")],
                 ["graph", str(src), "-o", str(tmp_path / "no-dir" / "x.svg")],
                 ["graph", str(src), "--run", str(tmp_path / "no-run")]):
        r = pipesight(*args)
        assert r.returncode == 2, args
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr, args


def test_truncated_corpus_dot_never_tracebacks(corpus: Path, tmp_path: Path) -> None:
    for src in corpus_dots(corpus):
        text = src.read_bytes()
        for frac in (0.3, 0.6, 0.9):
            cut = tmp_path / f"cut-{frac}-{src.name}"
            cut.write_bytes(text[: int(len(text) * frac)])
            r = pipesight("graph", str(cut), "-o", str(tmp_path / "cut.svg"))
            assert r.returncode in (0, 2) and "Traceback" not in r.stderr, (src.name, frac)
            if r.returncode == 0:
                nodes(tmp_path / "cut.svg")  # well-formed


@needs_gst
def test_fifty_identical_branches_fold(tmp_path: Path) -> None:
    branches: list[str] = []
    for _ in range(50):
        branches += ["t.", "!", "queue", "!", "videoconvert", "!", "fakesink"]
    dump = tmp_path / "dump"
    dump.mkdir()
    subprocess.run(["gst-launch-1.0", "videotestsrc", "num-buffers=2", "!", "tee", "name=t",
                    *branches], env={**os.environ, "GST_DEBUG_DUMP_DOT_DIR": str(dump)},
                   capture_output=True, timeout=60, check=True)
    src = next(dump.glob("*PAUSED_PLAYING.dot"))
    folded, full = tmp_path / "f.svg", tmp_path / "u.svg"
    r = pipesight("graph", str(src), "-o", str(folded))
    assert r.returncode == 0 and "50 identical branches" in r.stdout
    assert pipesight("graph", str(src), "-o", str(full), "--no-fold").returncode == 0
    assert len(nodes(full)) == 152
    drawn = nodes(folded)
    assert len(drawn) == 5  # source, tee, one queue -> videoconvert -> fakesink branch
    assert all("×50 alike" in "".join(t.text or "" for t in g.iter(f"{SVG}text"))
               for tip, g in drawn if tip.startswith(("queue", "videoconvert", "fakesink")))
    assert any("×50" in t for t in edges(folded) + [
        x.text or "" for x in ET.parse(folded).getroot().iter(f"{SVG}text")])


@needs_gst
def test_graph_coloured_by_a_profiled_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--",
                        "gst-launch-1.0", "videotestsrc", "num-buffers=80", "!", "queue", "!",
                        "identity", "name=slow", "sleep-time=10000", "!", "fakesink"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    dot = next((run / "dot").glob("pipesight.*.playing.dot"))
    out = tmp_path / "g.svg"
    assert pipesight("graph", str(dot), "--run", str(run), "-o", str(out)).returncode == 0
    import json

    v = json.loads((run / "verdict.json").read_text())
    assert v["bottleneck"]["element"] == "slow"
    share = next(e["thread_share"] for e in v["elements"] if e["name"] == "slow")
    marked = [(tip, g) for tip, g in nodes(out) if "bottleneck" in g.get("class")]
    assert len(marked) == 1 and marked[0][0].startswith("slow\n")
    assert marked[0][1].find(f"{SVG}path").get("fill") == cost_colour(share)
    # without verdict.json the run is analyzed on the spot, to the same colours
    (run / "verdict.json").unlink()
    again = tmp_path / "g2.svg"
    assert pipesight("graph", str(dot), "--run", str(run), "-o", str(again)).returncode == 0
    assert [g.get("class") for _, g in nodes(again)] == [g.get("class") for _, g in nodes(out)]
