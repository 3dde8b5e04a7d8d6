"""A pipeline of trivial elements, with or without a no-op Python pad probe on every pushing
pad, for bench/probe_cost.py.   python probe_pushes.py BUFFERS ELEMENTS [--probes]"""

import os
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)
n, k, probes = int(sys.argv[1]), int(sys.argv[2]), "--probes" in sys.argv
p = Gst.parse_launch(f"fakesrc num-buffers={n} sizetype=fixed sizemax=16 ! "
                     + " ! ".join(f"identity name=i{j}" for j in range(k)) + " ! fakesink")


def noop(pad, info):
    return Gst.PadProbeReturn.OK


if probes:
    for j in range(k):
        p.get_by_name(f"i{j}").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, noop)
p.set_state(Gst.State.PLAYING)
msg = p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
p.set_state(Gst.State.NULL)
out = os.environ.get("PROBE_PUSHES_CPU")
if out:  # its own CPU time, where a launcher (nsys) stands between it and the benchmark
    t = os.times()
    with open(out, "w") as f:
        f.write(str(t.user + t.system))
sys.exit(0 if msg.type == Gst.MessageType.EOS else 1)
