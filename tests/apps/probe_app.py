"""A PyGObject application with pad probes of known cost, for the probe-timing tests.

    python probe_app.py OUT.json [--drop] [--late] [--buffers N]

Probes busy-wait on the CPU: 3 ms on infer's src pad, 1 ms on q_post's sink pad (both run on
q1's streaming thread, one push after the other). The app writes the time it measured inside
each probe to OUT.json, to compare with what pipesight's tracer saw from outside. --drop drops
every other buffer in the src probe; --late adds the probes after the pipeline is PLAYING;
--buffers N: the source's buffers (300: about 1.2 s, over the 0.5 s a verdict needs).
"""

import json
import sys
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)
out, drop, late = sys.argv[1], "--drop" in sys.argv, "--late" in sys.argv
buffers = int(sys.argv[sys.argv.index("--buffers") + 1]) if "--buffers" in sys.argv else 300
p = Gst.parse_launch(
    f"videotestsrc num-buffers={buffers} ! video/x-raw,width=160,height=120 ! queue name=q1 ! "
    "identity name=infer ! queue name=q_post ! fakesink name=sink sync=false")
spent = {"src": 0.0, "sink": 0.0, "src_calls": 0, "sink_calls": 0}


def busy(seconds: float) -> float:
    t = time.perf_counter()
    while time.perf_counter() - t < seconds:
        pass
    return time.perf_counter() - t


def on_src(pad, info):
    spent["src"] += busy(0.003)
    spent["src_calls"] += 1
    if drop and spent["src_calls"] % 2 == 0:
        return Gst.PadProbeReturn.DROP
    return Gst.PadProbeReturn.OK


def on_sink(pad, info):
    spent["sink"] += busy(0.001)
    spent["sink_calls"] += 1
    return Gst.PadProbeReturn.OK


def add_probes():
    p.get_by_name("infer").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_src)
    p.get_by_name("q_post").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_sink)


if not late:
    add_probes()
p.set_state(Gst.State.PLAYING)
if late:
    p.get_state(Gst.CLOCK_TIME_NONE)
    add_probes()
p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
p.set_state(Gst.State.NULL)
with open(out, "w") as f:
    json.dump(spent, f)
