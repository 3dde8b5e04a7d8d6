"""A pipeline with a Python buffer probe (--work-ms of CPU per buffer) on one element's sink
pad: the probe runs inside the push, on the streaming thread, and is the limit."""

from __future__ import annotations

import sys

from pipesight.lab.apps.common import gst, parser, run, spin


def main() -> int:
    p = parser(__doc__ or "")
    p.add_argument("--probe-on", required=True, help="element whose sink pad gets the probe")
    a = p.parse_args()
    Gst, _ = gst()

    def setup(pipeline):
        el = pipeline.get_by_name(a.probe_on)
        if el is None:
            sys.exit(f"no element named {a.probe_on}")

        def probe(_pad, _info):
            spin(a.work_ms)  # e.g. reading metadata and drawing with Python per frame
            return Gst.PadProbeReturn.OK

        el.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe)
        return None

    return run(a.pipeline, setup)


if __name__ == "__main__":
    sys.exit(main())
