"""A pipeline that stopped moving: where every thread waits, and which wait is the cause.

Each thread's native stack names its wait (doctor.stacks); the tracer adds the push each
thread was inside (the element it is blocked in). Waits that are consequences — a thread
pushing into a full queue, a queue's thread idle on an empty queue — point at the thread that
holds things up: a sink in preroll, an appsink nobody drains, an appsrc nobody feeds, a buffer
pool with no free buffer, a clock wait far in the future, a lock."""

from __future__ import annotations

from pipesight.doctor import stacks as stackmod
from pipesight.doctor.evidence import finish
from pipesight.doctor.inputs import DoctorInput, OpenCall
from pipesight.findings import Evidence, Finding, fact

WAIT_WORDS = {
    "preroll": "waits in preroll: its sink has a first buffer and blocks until the pipeline is "
               "PLAYING",
    "clock": "waits on the clock for the time to show a buffer",
    "buffer-pool": "waits for a free buffer from a buffer pool",
    "lock": "waits for a lock (mutex) another thread holds",
    "full-queue": "is blocked pushing into a full queue",
    "app-sink": "is blocked in an appsink whose queue is full: the application does not pull "
                "samples",
    "app-source": "waits in an appsrc for the application to push data",
    "idle": "is idle (waiting for data or events)",
    "unknown": "waits somewhere pipesight does not recognise",
}
FIX = {
    "preroll": ("Add a queue at the head of every tee/demuxer branch so that one prerolled sink "
                "does not block the others, and make sure every sink receives data."),
    "clock": ("Check the buffer timestamps (a source with a large timestamp-offset or wrong "
              "base time) or set sync=false on the sink if real-time pacing is not wanted."),
    "buffer-pool": ("Buffers of this pool are all held downstream: enlarge the pool (e.g. "
                    "num-extra-surfaces, buffer-pool-size), shorten queues that hold them, and "
                    "make sure nothing keeps references (appsink samples, last-sample)."),
    "lock": ("Two threads wait for each other's locks (a deadlock), or one thread holds a lock "
             "while it blocks: check pad probes and signal handlers that call back into the "
             "pipeline from a streaming thread."),
    "full-queue": "Find why the queue's downstream does not consume: see the thread behind it.",
    "app-sink": ("Pull samples from the appsink (new-sample handler / pull-sample), or set "
                 "drop=true and max-buffers to bound it."),
    "app-source": ("Feed the appsrc (push-buffer on need-data) or send end-of-stream; with no "
                   "data, a sink downstream never prerolls."),
    "unknown": "Read the stacks in RUN/doctor/ for what the threads wait on.",
}
REF = "https://gstreamer.freedesktop.org/documentation/additional/design/element-sink.html"


def analyze(inp: DoctorInput) -> list[Finding]:
    h = inp.hang
    if h is None:
        return []
    ev: list[Evidence] = [fact(h.source, h.reason, "watch")]
    if not h.threads:
        return [finish(Finding(
            code="pipeline-hang", title=f"The pipeline hung: {h.reason}", severity="critical",
            subject=None, evidence=ev, detail=h.note or "No stacks were recorded.",
            fix="Install elfutils (eu-stack) and run doctor again to see where threads wait."))]
    per: list[str] = []
    for t in h.threads:
        calls = h.open_calls.get(t.tid) or []
        inside = _inside(calls)
        ev.append(fact(f"eu-stack TID {t.tid} ({t.name or '?'})", t.top(6), "eu-stack"))
        if calls:
            ev.append(fact(f"tracer TID {t.tid}", " > ".join(f"{c.src} -> {c.sink}"
                                                              for c in calls), "tracer"))
        per.append(f"{t.name or t.tid} {WAIT_WORDS[t.wait]}{inside}")
    cause = min((t for t in h.threads if t.wait != "idle"),
                key=lambda t: stackmod.CAUSES.index(t.wait), default=None)
    if cause is None:
        title = f"The pipeline hung ({h.reason}); every thread is idle"
        detail = ("No thread is blocked in GStreamer: nothing is producing data. A source "
                  "waits for input (a network stream, a camera, an appsrc) or the application "
                  "never started the pipeline. Threads: " + "; ".join(per) + ".")
        code, fix, subject = "hang-idle", ("Check the sources: is data arriving? Is the "
                                           "pipeline set to PLAYING?"), None
    else:
        calls = h.open_calls.get(cause.tid) or []
        where = calls[-1].sink_element if calls and calls[-1].sink_element else cause.name
        subject = where
        code = f"hang-{cause.wait}"
        title = f"The pipeline hung: {cause.name or cause.tid} {WAIT_WORDS[cause.wait]}" + (
            _inside(calls))
        detail = "Where each thread waits: " + "; ".join(per) + "."
        if cause.wait == "preroll" and any(c.sink_factory == "tee" for c in calls):
            tee = next(c.sink_element for c in calls if c.sink_factory == "tee")
            title = (f"The pipeline hung in preroll: {tee} has no queue on its branches, so "
                     f"{where} blocks the thread that should feed the other branch")
            detail += (f" {tee} pushes to its branches one after the other from one thread. "
                       f"{where} prerolled and now blocks that thread until PLAYING, but the "
                       "pipeline cannot reach PLAYING until the other branch's sink gets a "
                       "buffer too.")
        elif cause.wait == "full-queue":
            q = where
            behind = [t for t in h.threads if t.name and q and t.name.startswith(q[:12])]
            if behind:
                detail += (f" The queue's own thread ({behind[0].name}) "
                           f"{WAIT_WORDS[behind[0].wait]}.")
        fix = FIX.get(cause.wait, FIX["unknown"])
    return [finish(Finding(code=code, title=title, severity="critical", subject=subject,
                           evidence=ev, fix=fix, detail=detail + (f" ({h.note})" if h.note
                                                                  else ""),
                           element=subject, references=[REF]))]


def _inside(calls: list[OpenCall]) -> str:
    if not calls:
        return ""
    c = calls[-1]
    fac = f" ({c.sink_factory})" if c.sink_factory else ""
    return f", inside {c.sink}{fac}"
