"""A pipeline that never reaches PLAYING: which elements hold the preroll.

A pipeline goes to PLAYING only once every sink has a first buffer (it has prerolled), unless
the pipeline is live. Evidence: gst-launch-1.0's "Pipeline is PREROLLING ..." with no
"PREROLLED" after it, GST_STATES records of sinks that changed state asynchronously and never
completed, the tracer's state records, and DOT dumps whose elements still show a pending state
("[-] -> [=]")."""

from __future__ import annotations

import re

from pipesight.doctor.evidence import finish, quote
from pipesight.doctor.inputs import DoctorInput, DotDump
from pipesight.findings import Evidence, Finding, fact

ASYNC = re.compile(r"^child '(?P<e>[^']+)' is changing state asynchronously to PAUSED")
COMPLETED = re.compile(r"^completed state change to (?P<s>PAUSED|PLAYING)")
STATE_NAMES = {"[0]": "NULL", "[-]": "READY", "[=]": "PAUSED", "[>]": "PLAYING"}
PREROLL_DOC = "https://gstreamer.freedesktop.org/documentation/additional/design/preroll.html"


def analyze(inp: DoctorInput) -> list[Finding]:
    if any(r.level == "ERROR" and r.kind in ("launch", "app") for r in inp.log.records):
        return []  # an error stopped it: that error is the explanation
    out = []
    f = _from_log_and_tracer(inp)
    if f is not None:
        out.append(f)
    # the last dump says where the pipeline got to; earlier ones are on their way
    for d in inp.dots[-1:]:
        g = _from_dot(d)
        if g is not None and not any(x.subject == g.subject for x in out):
            out.append(g)
    return out


def _from_log_and_tracer(inp: DoctorInput) -> Finding | None:
    launch = [r for r in inp.log.records if r.kind == "launch"]
    msgs = [r.message for r in launch]
    errored = any(r.level == "ERROR" for r in inp.log.records if r.kind == "launch")
    prerolling = next((r for r in launch if r.message == "Pipeline is PREROLLING ..."), None)
    stuck_launch = (prerolling is not None and "Pipeline is PREROLLED ..." not in msgs
                    and not errored)
    # sinks that went to PAUSED asynchronously and never said they completed
    async_recs = {}
    for r in inp.log.records:
        if r.category != "GST_STATES":
            continue
        m = ASYNC.match(r.message)
        if m:
            async_recs.setdefault(m.group("e"), r)
            continue
        m = COMPLETED.match(r.message)
        if m and r.element in async_recs:
            async_recs.pop(r.element)
    played = any(s.get("to") == "PLAYING" for s in inp.states)
    tracer_async = [s for s in inp.states if s.get("from") == "READY" and s.get("to") == "PAUSED"
                    and s.get("result") == "ASYNC"] if not played else []
    if errored or not (stuck_launch or async_recs or tracer_async):
        return None  # an error explains why it stopped
    ev: list[Evidence] = []
    if prerolling is not None and stuck_launch:
        ev.append(quote(prerolling))
    for r in list(async_recs.values())[:6]:
        ev.append(quote(r))
    for s in tracer_async[:6]:
        ev.append(fact("trace/defs (state records)", f"{s['element']}: READY -> PAUSED returned "
                       "ASYNC; no PAUSED -> PLAYING followed", "tracer"))
    waiting = [e for e in async_recs] or [s["element"] for s in tracer_async
                                           if s["element"] != _pipeline(inp)]
    prerolled = _prerolled_sinks(inp)
    holding = [e for e in waiting if e not in prerolled]
    detail = ["The pipeline waits in PAUSED for every sink to receive its first buffer "
              "(preroll) before it can go to PLAYING; it never got there."]
    if holding:
        detail.append(f"Still waiting for a first buffer: {', '.join(holding)}.")
    if prerolled:
        detail.append(f"Already prerolled (and blocked until PLAYING): {', '.join(prerolled)}.")
        detail.append("A sink that prerolled blocks the thread that fed it; if that thread also "
                      "feeds the waiting sinks (a tee or demuxer without a queue on each "
                      "branch), they never receive anything.")
    if not holding and not prerolled and waiting:
        detail.append(f"Elements that went to PAUSED asynchronously: {', '.join(waiting)}.")
    fix = ("Put a queue at the head of every branch after a tee or demuxer; make sure every "
           "sink's branch receives data (a source that never produces — an appsrc the "
           "application does not feed, a live source without data — keeps it waiting); for "
           "sinks that must not wait, set async=false.")
    subject = holding[0] if holding else (waiting[0] if waiting else None)
    return finish(Finding(
        code="never-playing",
        title=(f"The pipeline never reached PLAYING: {subject} never prerolled" if subject
               else "The pipeline never reached PLAYING (stuck prerolling)"),
        severity="critical", subject=subject, evidence=ev, fix=fix, detail=" ".join(detail),
        element=subject, references=[PREROLL_DOC]))


def _pipeline(inp: DoctorInput) -> str | None:
    return next((s["element"] for s in inp.states if s["element"].startswith("pipeline")), None)


def _prerolled_sinks(inp: DoctorInput) -> list[str]:
    """Sinks whose streaming thread waits in preroll (seen in the native stacks)."""
    if inp.hang is None:
        return []
    out = []
    for t in inp.hang.threads:
        if t.wait != "preroll":
            continue
        calls = inp.hang.open_calls.get(t.tid) or []
        if calls and calls[-1].sink_element:
            out.append(calls[-1].sink_element)
    return out


def _from_dot(d: DotDump) -> Finding | None:
    g = d.graph
    st = g.pipeline_state or ""
    if "->" not in st or not st.rstrip().endswith(("[>]", "[=]")):
        return None
    topo = g.topology
    pending = {eid: s for eid, s in g.states.items() if "->" in s}
    leaf_pending = [eid for eid in pending if not topo.elements[eid].is_bin]
    sinks = [eid for eid in leaf_pending if _is_sink(topo.elements[eid].type)]
    ev = [fact(d.label, f"{g.pipeline_name} {st}", "dot")]
    for eid in sinks[:6]:
        e = topo.elements[eid]
        ev.append(fact(d.label, f"{e.name} ({e.type}) {pending[eid]}", "dot"))
    names = [topo.elements[e].name for e in sinks]
    target = st.split("->")[-1].strip()
    done_sinks = [e.name for e in topo.leaf_elements() if _is_sink(e.type)
                  and g.states.get(e.id, "").strip() == target]
    chain = _branch_head(d, sinks[0]) if sinks else None
    detail = [f"The graph was dumped while {g.pipeline_name} was changing state ({st}): it had "
              "not reached its target yet."]
    if names:
        detail.append(f"Sinks still on their way to PAUSED (no first buffer yet): "
                      f"{', '.join(names)}.")
    if done_sinks:
        detail.append(f"Sinks that did reach their state: {', '.join(done_sinks)}.")
    if chain:
        detail.append(chain)
    subject = names[0] if names else g.pipeline_name
    return finish(Finding(
        code="never-playing",
        title=f"{g.pipeline_name} is stuck on its way to {STATE_NAMES.get(target, target)}: "
              f"{', '.join(names) or 'some elements'} have not prerolled",
        severity="warning", subject=subject, evidence=ev, element=subject,
        detail=" ".join(detail),
        fix=("If this dump is the last one, no buffer reached these sinks: follow their branch "
             "upstream to the element that holds data (a full queue, a demuxer pad that "
             "never produced) or add a queue after each tee/demuxer branch."),
        references=[PREROLL_DOC]))


def _is_sink(typ: str | None) -> bool:
    return bool(typ) and "sink" in typ.lower()  # type: ignore[union-attr]


def _branch_head(d: DotDump, sink_id: int) -> str | None:
    """Walk upstream from a waiting sink to the first element that holds buffers."""
    topo = d.graph.topology
    edges = topo.element_edges()
    up = {b: a for a, b in edges}
    cur, path = sink_id, []
    for _ in range(40):
        prev = up.get(cur)
        if prev is None:
            break
        e = topo.elements[prev]
        path.append(e.name)
        lvl = e.props.get("current-level-buffers")
        if lvl not in (None, "0"):
            return (f"Upstream of it, {e.name} holds {lvl} buffers: data stops there "
                    f"(path: {' <- '.join([topo.elements[sink_id].name, *path])}).")
        cur = prev
    if path:
        return f"Its branch upstream: {' <- '.join([topo.elements[sink_id].name, *path[:8]])}."
    return None
