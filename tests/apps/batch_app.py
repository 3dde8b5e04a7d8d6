"""A PyGObject pipeline with a batching element, for the frames-not-buffers tests.

    python batch_app.py STREAMS BATCH [--no-prop]

STREAMS test sources feed a Python element with request sink pads that pushes one buffer per
BATCH buffers received (as DeepStream's nvstreammux pushes one batched buffer), with a
``batch-size`` property unless --no-prop.
"""

import sys
import threading

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GObject, Gst  # noqa: E402

Gst.init(None)
STREAMS, BATCH = int(sys.argv[1]), int(sys.argv[2])
WITH_PROP = "--no-prop" not in sys.argv


class Batch(Gst.Element):
    # plain PyGObject (no gst-python overrides): pads made by hand, no factory
    if WITH_PROP:
        __gproperties__ = {"batch-size": (int, "batch size", "frames per batch", 1, 1024,
                                          BATCH, GObject.ParamFlags.READWRITE)}

    def __init__(self):
        super().__init__()
        self.src = Gst.Pad.new("src", Gst.PadDirection.SRC)
        self.add_pad(self.src)
        self._mtx = threading.Lock()
        self.n = 0
        self.eos = 0
        self.started = False

    def do_get_property(self, prop):
        return BATCH

    def do_set_property(self, prop, value):
        pass

    def new_sink(self, name):
        pad = Gst.Pad.new(name, Gst.PadDirection.SINK)
        pad.set_chain_function_full(self.chain)
        pad.set_event_function_full(self.event)
        self.add_pad(pad)
        return pad

    def chain(self, pad, parent, buf):
        with self._mtx:
            self.n += 1
            push = self.n % BATCH == 0
        return self.src.push(buf) if push else Gst.FlowReturn.OK

    def event(self, pad, parent, ev):
        if ev.type == Gst.EventType.EOS:
            with self._mtx:
                self.eos += 1
                if self.eos < STREAMS:
                    return True
            return self.src.push_event(ev)
        if ev.type in (Gst.EventType.STREAM_START, Gst.EventType.CAPS, Gst.EventType.SEGMENT):
            with self._mtx:
                if ev.type == Gst.EventType.SEGMENT and self.started:
                    return True
                if ev.type == Gst.EventType.SEGMENT:
                    self.started = True
            return self.src.push_event(ev)
        return pad.event_default(parent, ev)


p = Gst.Pipeline.new("pipeline0")
b = Batch()
b.set_name("b")
sink = Gst.ElementFactory.make("fakesink", "sink")
sink.set_property("sync", False)
p.add(b)
p.add(sink)
b.link(sink)
for i in range(STREAMS):
    branch = Gst.parse_bin_from_description(
        "videotestsrc num-buffers=150 is-live=true ! "
        "video/x-raw,width=64,height=48,framerate=200/1 ! queue", True)
    p.add(branch)
    branch.get_static_pad("src").link(b.new_sink(f"sink_{i}"))
p.set_state(Gst.State.PLAYING)
msg = p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE,
                                     Gst.MessageType.EOS | Gst.MessageType.ERROR)
p.set_state(Gst.State.NULL)
sys.exit(0 if msg and msg.type == Gst.MessageType.EOS else 1)
