"""The one line `profile` keeps at the bottom of a terminal while the command runs."""

from __future__ import annotations

from pipesight.readers.live_trace import Progress


def text(p: Progress, duration_s: float | None) -> str:
    parts = [f"[{p.elapsed_s:.1f} s" + (f" of {duration_s:g} s]" if duration_s else "]")]
    if p.processes == 0:
        parts.append("no GStreamer process yet")
    elif p.sink_rate is None:
        parts.append("no sink yet")
    else:
        parts.append(f"{p.sink_rate:,.0f} buffers/s into sinks")
    if p.busiest and p.busiest_share is not None:
        parts.append(f"busiest: {p.busiest} {100 * p.busiest_share:.0f}% of {p.busiest_thread}")
    # last, so a narrow terminal cuts it first
    parts.append("Ctrl-C stops and keeps the answer")
    return " · ".join(parts)
