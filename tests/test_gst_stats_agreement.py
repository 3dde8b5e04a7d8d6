"""pipesight reads GStreamer tracer logs to the same numbers gst-stats-1.0 prints, where
gst-stats-1.0 is right: per-pad buffer counts and flags, per-element buffers and bytes, and the
latency statistics. The log holds a tee, a bin with ghost and proxy pads, and a pull-mode
demuxer reading a file."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from gst_stats_output import run as gst_stats
from pipesight.lab import media
from pipesight.metrics.latency import element_latency, pipeline_latency
from pipesight.metrics.pads import FLAG_BITS, element_counts, pad_stats
from pipesight.readers import gst_tracer_log
from pipesight.trace import Trace

pytestmark = pytest.mark.skipif(shutil.which("gst-stats-1.0") is None,
                                reason="gst-stats-1.0 not installed")


@pytest.fixture(scope="module")
def tracer_log(tmp_path_factory) -> Path:
    mp4 = media.ensure("h264_mp4")
    log = tmp_path_factory.mktemp("stats") / "gst.log"
    env = dict(os.environ, GST_TRACERS="stats;latency(flags=pipeline+element)",
               GST_DEBUG="GST_TRACER:7", GST_DEBUG_FILE=str(log), GST_DEBUG_NO_COLOR="1")
    desc = (f"filesrc location={mp4} ! qtdemux ! h264parse ! tee name=t "
            "t. ! queue ! fakesink "
            "t. ! queue ! ( name=decbin avdec_h264 ! videoconvert ) ! fakesink")
    subprocess.run(["gst-launch-1.0", "-q", *desc.split()], env=env, check=True, timeout=120)
    return log


@pytest.fixture(scope="module")
def both(tracer_log: Path):
    trace = Trace()
    gst_tracer_log.load_into(trace, tracer_log)
    return trace, gst_stats(tracer_log)


def test_log_has_the_shapes_that_matter(both):
    trace, _ = both
    topo = trace.topology
    assert any(p.ghost for p in topo.pads.values()), "no ghost pad"
    assert any(p.proxy for p in topo.pads.values()), "no proxy pad"
    assert any(e.is_bin and e.name != "pipeline0" for e in topo.elements.values()), "no bin"
    assert (trace.flow.mode == 1).any(), "no pull-mode buffers"
    assert topo.by_name("t") is not None


def test_total_buffers(both):
    trace, st = both
    assert len(trace.flow) == st.buffers_total


def test_pad_buffer_counts_and_flags(both):
    trace, st = both
    ours = {p.label[:29]: p for p in pad_stats(trace)}
    assert len(st.pads) >= 10
    for label, theirs in st.pads.items():
        mine = ours[label]
        assert mine.buffers == theirs["buffers"], label
        assert [mine.flags[k] for k in FLAG_BITS] == theirs["flags"], label
        if theirs["min"] is not None:  # gst-stats prints "......." when min == max
            assert mine.min_size == theirs["min"], label
        else:
            assert mine.min_size == mine.max_size == theirs["avg"], label


def test_element_buffers_and_bytes(both):
    trace, st = both
    counts = element_counts(trace)
    by_name = {trace.topology.name(e): c for e, c in counts.items()}
    assert len(st.elements) >= 9
    for name, theirs in st.elements.items():
        mine = by_name[name]
        assert (mine.buffers_in, mine.buffers_out) == (theirs["in"], theirs["out"]), name
        assert (mine.bytes_in, mine.bytes_out) == (theirs["bytes_in"], theirs["bytes_out"]), name


def test_latency_statistics(both):
    trace, st = both
    assert st.latency and st.element_latency
    ours = {s.key: (s.mean_ns, s.min_ns, s.max_ns) for s in pipeline_latency(trace.latency)}
    assert ours == st.latency
    ours_el = {s.key: (s.mean_ns, s.min_ns, s.max_ns) for s in element_latency(trace.latency)}
    assert ours_el == st.element_latency


def test_corpus_latency_log_matches(corpus):
    log = corpus / "gst" / "podborski_latency_traces.log"
    trace = Trace()
    gst_tracer_log.load_into(trace, log)
    st = gst_stats(log)
    ours = {s.key: (s.mean_ns, s.min_ns, s.max_ns) for s in pipeline_latency(trace.latency)}
    assert ours == st.latency
    ours_el = {s.key: (s.mean_ns, s.min_ns, s.max_ns) for s in element_latency(trace.latency)}
    assert ours_el == st.element_latency
    assert len(trace.flow) == 0


def test_where_gst_stats_is_wrong_we_are_consistent(both):
    """gst-stats-1.0 1.22 keeps a truncating running average of buffer sizes, and updates the
    maximum only when a buffer is not a new minimum (`else if`), so a stream whose first buffer
    is its largest (an H.264 IDR frame) gets a wrong max and avg. Ours follow from the bytes
    that gst-stats-1.0 itself totals per element."""
    trace, st = both
    ours = {p.label[:29]: p for p in pad_stats(trace)}
    parse_out = st.elements["h264parse0"]["bytes_out"]
    pad = ours["h264parse0.src"]
    assert pad.bytes == parse_out
    assert abs(pad.mean_size - parse_out / pad.buffers) < 1e-9
    assert pad.max_size >= st.pads["h264parse0.src"]["max"]
    assert pad.max_size == max(p.max_size for p in ours.values() if p.label.startswith("qtdemux0"))
