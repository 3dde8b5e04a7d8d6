"""Ties pipesight's tracer clock to an Nsight Systems export's clock (``Trace.gpu_clock``).

Measured, where it can be: the tracer (built with NVTX) puts marks into the capture whose
payload is its own CLOCK_MONOTONIC time; Nsight stamps each with its clock, so every mark is a
point of the mapping and a line through them gives offset and drift, with the points' scatter
as the error. Without marks, the session's start in UTC (TARGET_INFO_SESSION_START_TIME) and
the tracer's reading of CLOCK_REALTIME beside CLOCK_MONOTONIC give an offset whose error is not
measured. An export of another host, or of processes the tracer did not see, cannot be tied:
that is said, and the two are analysed side by side.
"""

from __future__ import annotations

import numpy as np

from pipesight.trace import Trace
from pipesight.trace.clock import ClockMap, fit

MARK = "pipesight-clock"


def align(trace: Trace) -> None:
    g = trace.gpu
    if g is None or not trace.has_frames or trace.monotonic_offset_ns is None:
        return
    pids = traced_pids(trace)
    why = _other_run(trace, pids)
    if why:
        trace.notes.append(f"the Nsight Systems export and the GStreamer trace cannot be tied in "
                           f"time ({why}): they are analysed side by side")
        return
    m = from_marks(trace, pids)
    if m is None:
        m = from_session_start(trace)
    if m is None:
        trace.notes.append("the Nsight Systems export has no pipesight clock marks and no "
                           "session start time: the GStreamer trace is not tied to it in time")
        return
    trace.gpu_clock = m


def traced_pids(trace: Trace) -> set[int]:
    pids = {int(k) for k in trace.extras.get("tracer", {})}
    pids |= {int(c["pid"]) for c in trace.extras.get("tracer_clocks", [])}
    return pids


def _other_run(trace: Trace, pids: set[int]) -> str:
    g = trace.gpu
    assert g is not None
    host = (trace.run.get("host") or {}).get("hostname")
    if host and g.hostname and host != g.hostname:
        return f"recorded on host {g.hostname!r}, the trace on {host!r}"
    seen = set(g.process_names) | {int(p) for p in np.unique(g.marks.pid).tolist()}
    seen |= {p for p, _ in g.thread_names}
    if pids and seen and not (pids & seen):
        return (f"the export holds processes {sorted(seen)[:4]}, the trace "
                f"{sorted(pids)[:4]}")
    return ""


def from_marks(trace: Trace, pids: set[int]) -> ClockMap | None:
    g = trace.gpu
    assert g is not None and trace.monotonic_offset_ns is not None
    mk = g.marks
    if not len(mk):
        return None
    names = np.array([g.string(int(i)).startswith(MARK) for i in mk.name.tolist()], bool)
    sel = names & (mk.payload >= 0)
    if pids:
        sel &= np.isin(mk.pid, list(pids))
    if not sel.any():
        return None
    x = mk.payload[sel] - trace.monotonic_offset_ns  # tracer time of each mark
    y = mk.ts[sel]
    order = np.argsort(x)
    calls = [c["call_ns"] for c in trace.extras.get("clock_marks", [])]
    bound = float(max(calls)) if calls else None
    return fit(x[order], y[order], "nvtx-marks", bound_ns=bound,
               note=f"{int(sel.sum())} clock marks of the tracer found in the export")


def from_session_start(trace: Trace) -> ClockMap | None:
    """nsys time 0 is the session's start, which the export gives in UTC; the tracer read
    CLOCK_REALTIME and CLOCK_MONOTONIC together once. The error is not measured here."""
    g = trace.gpu
    clocks = trace.extras.get("tracer_clocks", [])
    if g is None or g.session_utc_ns is None or not clocks or not clocks[0].get("realtime_ns"):
        return None
    c = clocks[0]
    x0 = int(c["ts"]) + (g.session_utc_ns - int(c["realtime_ns"]))  # tracer time at nsys 0
    return ClockMap(x0=x0, y0=0, slope=1.0, method="session-start", points=1,
                    note="from the session's start time in UTC and the tracer's CLOCK_REALTIME "
                         "reading (error not measured; wall-clock steps would shift it)")
