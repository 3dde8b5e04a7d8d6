"""A PyGObject pipeline whose bottleneck moves while it runs, for the watch tests.

    python switch_app.py SWITCH_S [--abort-after S] [--stop-after S]

Two identities on two streaming threads: `slow_a` sleeps 4 ms a buffer and `slow_b` none;
after SWITCH_S seconds the sleeps swap, so the bottleneck moves from slow_a to slow_b.
SIGINT sends EOS and ends cleanly; --abort-after crashes the process (SIGABRT) after S s;
--stop-after ends it with EOS after S s (exit 0).
"""

import os
import signal
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
switch_s = float(sys.argv[1])
args = sys.argv[2:]
p = Gst.parse_launch(
    "videotestsrc pattern=black ! video/x-raw,width=64,height=48 ! queue name=qa ! "
    "identity name=slow_a sleep-time=4000 ! queue name=qb ! identity name=slow_b sleep-time=0 "
    "! fakesink name=sink sync=false")
loop = GLib.MainLoop()


def swap() -> bool:
    p.get_by_name("slow_a").set_property("sleep-time", 0)
    p.get_by_name("slow_b").set_property("sleep-time", 4000)
    print("switched", flush=True)
    return False


def eos(*_a) -> bool:
    p.send_event(Gst.Event.new_eos())
    return False


def on_message(bus, msg) -> None:
    if msg.type in (Gst.MessageType.EOS, Gst.MessageType.ERROR):
        loop.quit()


GLib.timeout_add(int(switch_s * 1000), swap)
if "--abort-after" in args:
    GLib.timeout_add(int(float(args[args.index("--abort-after") + 1]) * 1000), os.abort)
if "--stop-after" in args:
    GLib.timeout_add(int(float(args[args.index("--stop-after") + 1]) * 1000), eos)
GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, eos)
bus = p.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
p.set_state(Gst.State.PLAYING)
loop.run()
p.set_state(Gst.State.NULL)
