"""An application that makes each frame in Python (--work-ms of CPU) and pushes it into an
appsrc from a thread of its own: the application, not the pipeline, is the limit."""

from __future__ import annotations

import sys
import threading

from pipesight.lab.apps.common import gst, parser, run, spin


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--appsrc", required=True, help="name of the appsrc to feed")
    p.add_argument("--num-buffers", type=int, default=-1)
    p.add_argument("--size", default="320x240", help="GRAY8 frame size WxH")
    a = p.parse_args()
    Gst, _ = gst()
    w, h = (int(x) for x in a.size.split("x"))
    done = threading.Event()

    def setup(pipeline):
        src = pipeline.get_by_name(a.appsrc)
        if src is None:
            sys.exit(f"no element named {a.appsrc}")
        src.set_property("caps", Gst.Caps.from_string(
            f"video/x-raw,format=GRAY8,width={w},height={h},framerate=30/1"))
        src.set_property("format", Gst.Format.TIME)
        src.set_property("block", True)
        src.set_property("max-bytes", 4 * w * h)
        frame = bytes(w * h)
        dur = Gst.SECOND // 30

        def feed() -> None:
            n = 0
            while not done.is_set() and n != a.num_buffers:
                spin(a.work_ms)  # the application's own work on each frame
                buf = Gst.Buffer.new_wrapped(frame)
                buf.pts, buf.duration = n * dur, dur
                if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                    break
                n += 1
            src.emit("end-of-stream")

        threading.Thread(target=feed, name="feeder", daemon=True).start()
        return done.set  # SIGINT: the feeder stops and ends the stream

    return run(a.pipeline, setup)


if __name__ == "__main__":
    sys.exit(main())
