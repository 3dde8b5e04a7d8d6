"""A PyGObject pipeline whose sources come and go, as DeepStream's source bins do, for the
watch tests on label cardinality.

    python churn_app.py [EVERY_S]

Every EVERY_S seconds (default 0.5) a new live source branch `camN ! capsN ! qN` joins a
funnel in front of one sink, and the branch added two steps before leaves (stopped first, so
its streaming thread ends before it is unlinked). At most three branches run at once; their
names never repeat. SIGINT sends EOS and ends cleanly.
"""

import signal
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

Gst.init(None)
every = float(sys.argv[1]) if len(sys.argv) > 1 else 0.5
p = Gst.parse_launch("funnel name=f ! queue name=qout ! fakesink name=sink sync=false")
f = p.get_by_name("f")
loop = GLib.MainLoop()
live: list[tuple[Gst.Bin, Gst.Pad]] = []
n = 0


def add_branch() -> None:
    global n
    b = Gst.parse_bin_from_description(
        f"videotestsrc name=cam{n} is-live=true pattern=black ! "
        f"video/x-raw,width=32,height=24,framerate=100/1 ! queue name=q{n}", True)
    b.set_name(f"source-bin-{n}")
    n += 1
    p.add(b)
    pad = f.request_pad_simple("sink_%u")
    b.get_static_pad("src").link(pad)
    b.sync_state_with_parent()
    live.append((b, pad))


def churn() -> bool:
    add_branch()
    if len(live) > 3:
        b, pad = live.pop(0)
        b.set_state(Gst.State.NULL)
        b.get_static_pad("src").unlink(pad)
        f.release_request_pad(pad)
        p.remove(b)
    return True


def eos(*_a) -> bool:
    for b, _pad in live:
        b.send_event(Gst.Event.new_eos())
    return False


def on_message(bus, msg) -> None:
    if msg.type == Gst.MessageType.EOS:
        loop.quit()


add_branch()
GLib.timeout_add(int(every * 1000), churn)
GLib.unix_signal_add(GLib.PRIORITY_HIGH, signal.SIGINT, eos)
bus = p.get_bus()
bus.add_signal_watch()
bus.connect("message", on_message)
p.set_state(Gst.State.PLAYING)
loop.run()
p.set_state(Gst.State.NULL)
