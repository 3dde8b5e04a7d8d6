"""An application that pulls frames from an appsink in its new-sample handler, spending about
2 ms of CPU on each: for the Python callback timing tests.   python appsink_app.py"""

import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

Gst.init(None)
p = Gst.parse_launch("videotestsrc num-buffers=100 ! video/x-raw,width=160,height=120 ! "
                     "queue ! appsink name=out emit-signals=true sync=false")


def on_sample(sink):
    s = sink.emit("pull-sample")
    # 2 ms of this thread's CPU (not wall time: on a loaded machine the spin is preempted)
    t = time.thread_time()
    while time.thread_time() - t < 0.002:
        pass
    return Gst.FlowReturn.OK if s is not None else Gst.FlowReturn.EOS


p.get_by_name("out").connect("new-sample", on_sample)
p.set_state(Gst.State.PLAYING)
p.get_bus().timed_pop_filtered(Gst.CLOCK_TIME_NONE, Gst.MessageType.EOS | Gst.MessageType.ERROR)
p.set_state(Gst.State.NULL)
