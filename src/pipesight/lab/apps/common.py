"""Run a pipeline description the way gst-launch-1.0 -e does, from Python."""

from __future__ import annotations

import argparse
import signal
import sys
import time
from collections.abc import Callable
from typing import Any


def gst() -> tuple[Any, Any]:
    try:
        import gi

        gi.require_version("Gst", "1.0")
        from gi.repository import GLib, Gst
    except (ImportError, ValueError) as e:
        sys.exit(f"this lab scenario needs PyGObject with GStreamer's introspection data: {e}")
    Gst.init(None)
    return Gst, GLib


def parser(doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=doc)
    p.add_argument("--pipeline", required=True, help="gst-launch-1.0 description")
    p.add_argument("--work-ms", type=float, required=True,
                   help="CPU time the Python code spends per buffer")
    return p


def spin(ms: float) -> None:
    """Burn ``ms`` of CPU in Python (the GIL held), as real per-buffer Python work would."""
    end = time.thread_time() + ms / 1e3
    x = 0
    while time.thread_time() < end:  # a clock read every 500 steps: the time goes on Python
        for _ in range(500):
            x += 1


def run(desc: str,
        setup: Callable[[Any, Callable[[], None]], Callable[[], None] | None]) -> int:
    """Build and play ``desc``; ``setup(pipeline, started)`` may return how to end the stream
    on SIGINT (default: an EOS event to the pipeline). Prints gst-launch-1.0's closing line,
    timed from PLAYING or from ``started()``, whichever comes first: an application that makes
    frames from PAUSED on can fill the pipeline's queues long before PLAYING, which itself
    came late while a Python thread spun (GST_STATES:4 showed each element's change to PLAYING
    taking 30-85 ms; PLAYING was read just before EOS on a fresh clone)."""
    Gst, GLib = gst()
    pipeline = Gst.parse_launch(desc)
    state: dict[str, Any] = {"rc": 0, "playing": None}

    def started() -> None:
        if state["playing"] is None:
            state["playing"] = time.monotonic_ns()

    stop = setup(pipeline, started) or (lambda: pipeline.send_event(Gst.Event.new_eos()))
    loop = GLib.MainLoop()

    def on_message(_bus, msg) -> None:
        if msg.type == Gst.MessageType.EOS:
            loop.quit()
        elif msg.type == Gst.MessageType.ERROR:
            err, dbg = msg.parse_error()
            print(f"ERROR: from element {msg.src.get_path_string()}: {err.message}\n{dbg}",
                  file=sys.stderr)
            state["rc"] = 1
            loop.quit()
        elif (msg.type == Gst.MessageType.STATE_CHANGED and msg.src is pipeline
              and msg.parse_state_changed()[1] == Gst.State.PLAYING):
            started()

    bus = pipeline.get_bus()
    bus.add_signal_watch()
    bus.connect("message", on_message)

    def on_sigint() -> bool:
        stop()
        return GLib.SOURCE_REMOVE

    GLib.unix_signal_add(GLib.PRIORITY_DEFAULT, signal.SIGINT, on_sigint)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    if state["rc"] == 0 and state["playing"] is not None:
        ns = time.monotonic_ns() - state["playing"]
        s, frac = divmod(ns, 1_000_000_000)
        print(f"Execution ended after {s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}.{frac:09d}")
    pipeline.set_state(Gst.State.NULL)
    return state["rc"]
