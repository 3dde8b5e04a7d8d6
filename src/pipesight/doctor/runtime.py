"""Pipelines that were built but failed once data flowed: caps negotiation (not-negotiated),
a pad leading nowhere (not-linked), a resource that is missing or busy, and sinks dropping
late buffers ("A lot of buffers are being dropped")."""

from __future__ import annotations

import re

from pipesight.doctor import caps as capsmod
from pipesight.doctor import inspect, packages
from pipesight.doctor.construction import converter_for
from pipesight.doctor.evidence import finish, first_per, quote
from pipesight.doctor.inputs import DoctorInput
from pipesight.findings import Evidence, Finding, fact
from pipesight.readers.gst_debug_log import LogRecord

NOT_NEGOTIATED = re.compile(r"not-negotiated|not negotiated|[Ff]ailed to negotiate")
NOT_ACCEPTED = re.compile(r"^caps (?P<caps>.+) not accepted$")
NOT_LINKED = re.compile(r"reason not-linked")
DELAYED = re.compile(r"failed delayed linking pad\s+(?P<pad>\S+) of \S+ named (?P<a>\S+) to some "
                     r"pad of \S+ named (?P<b>\S+)")
DROPPED = re.compile(r"A lot of buffers are being dropped")
TOO_SLOW = re.compile(r"this computer is too slow")
BUSY = re.compile(r"busy|Address already in use|Device or resource busy|EBUSY|in use",
                  re.I)
NOT_FOUND = re.compile(r"Resource not found|No such file|Cannot identify device|not found|does "
                       r"not exist|Could not resolve|No such device|Could not open resource for "
                       r"reading|Could not open file .* for (?:reading|writing)", re.I)
DENIED = re.compile(r"Permission denied|not permitted", re.I)
RESOURCE = re.compile(r"resource|Could not open|Cannot identify device|bind failed|Could not "
                      r"get/set settings", re.I)


def analyze(inp: DoctorInput) -> list[Finding]:
    return [*_negotiation(inp), *_not_linked(inp), *_resources(inp), *_drops(inp)]


def _errors(inp: DoctorInput, rx: re.Pattern[str]) -> list[LogRecord]:
    return [r for r in inp.log.records if r.level in ("ERROR", "WARN") and rx.search(r.text)]


# ---------------------------------------------------------------- not-negotiated

def _negotiation(inp: DoctorInput) -> list[Finding]:
    stops = _errors(inp, NOT_NEGOTIATED)
    refusals = [r for r in inp.log.records if r.category == "GST_CAPS"
                and NOT_ACCEPTED.match(r.message)]
    if not stops and not refusals:
        return []
    ev: list[Evidence] = [quote(r) for r in first_per(stops, lambda r: (r.kind, r.element))][:4]
    title = "Caps negotiation failed (not-negotiated)"
    subject = stops[0].element if stops else None
    detail = ["Elements agree on the format of the data (caps) before the first buffer flows; "
              "here one element produced caps that the next one does not accept, and the "
              "stream stopped with not-negotiated."]
    fix = ("Insert a converter (videoconvert, videoscale, videorate, audioconvert, "
           "audioresample, nvvideoconvert) before the element that refuses, or change the caps "
           "filter.")
    for r in first_per(refusals, lambda r: r.obj)[:2]:
        m = NOT_ACCEPTED.match(r.message)
        assert m is not None
        offered = capsmod.parse(m.group("caps"))
        pad = r.obj or "?"
        el = pad.split(":", 1)[0]
        ev.append(quote(r))
        subject = el
        title = f"Caps negotiation failed: {pad} refused the caps offered to it"
        accepts, basis = _accepted_caps(inp, el, ev)
        up = _upstream_of(inp, el)
        frm = f" by {up}" if up else ""
        if accepts is None:
            detail.append(f"{pad} refused {capsmod.summarize(offered)} offered{frm}; what it "
                          "accepts is not in the log (run with a DOT dump or gst-inspect-1.0).")
            continue
        res = capsmod.intersect(offered, accepts)
        if res.ok and accepts.any and (inp.factory(el) or packages.factory_of_name(el)) == \
                "capsfilter":
            detail.append(f"{pad} is a caps filter and refused {capsmod.summarize(offered)} "
                          f"offered{frm}; its caps are not in the log (a DOT dump or the "
                          "command line shows them).")
            continue
        if res.ok:
            detail.append(f"{pad} refused {capsmod.summarize(offered)}{frm}, although its "
                          f"{basis} ({capsmod.summarize(accepts)}) allows it: the element's "
                          "current configuration narrows what it takes.")
            continue
        what = res.mismatch.what if res.mismatch else "media"
        detail.append(f"{up or 'Upstream'} offered {capsmod.summarize(offered)}, but {pad} "
                      f"accepts only {capsmod.summarize(accepts)} ({basis}): they differ in "
                      f"{res.explain()}.")
        fix = f"Insert {converter_for(what)} before {el}" + (f" (after {up})." if up else ".")
    return [finish(Finding(code="not-negotiated", title=title, severity="critical",
                           subject=subject, evidence=ev, fix=fix, detail=" ".join(detail),
                           element=subject))]


def _accepted_caps(inp: DoctorInput, el: str, ev: list[Evidence]
                   ) -> tuple[capsmod.Caps | None, str]:
    """What element el accepts on its sink: a caps filter's caps (DOT dump or command line),
    else its factory's pad template."""
    for d in reversed(inp.dots):
        e = d.graph.topology.by_name(el)
        if e is not None and "caps" in e.props and (e.type or "").endswith("CapsFilter"):
            ev.append(fact(d.label, f"{el} caps={e.props['caps']}", "dot"))
            return capsmod.parse(str(e.props["caps"])), "caps filter"
    if el in inp.capsfilters:
        ev.append(fact("command line", f"{el}: {inp.capsfilters[el]}", "command"))
        return capsmod.parse(inp.capsfilters[el]), "caps filter on the command line"
    fac = inp.factory(el) or packages.factory_of_name(el)
    info = inspect.element(fac)
    if info is None:
        return None, ""
    acc = info.caps("sink")
    ev.append(fact(f"gst-inspect-1.0 {fac}", f"sink pads accept: {capsmod.summarize(acc)}",
                   "gst-inspect"))
    return acc, f"{fac}'s sink pad template"


def _upstream_of(inp: DoctorInput, el: str) -> str | None:
    for d in reversed(inp.dots):
        topo = d.graph.topology
        e = topo.by_name(el)
        if e is None:
            continue
        for a, b in topo.element_edges():
            if b == e.id:
                return topo.name(a)
    return None


# ---------------------------------------------------------------- not-linked

def _not_linked(inp: DoctorInput) -> list[Finding]:
    stops = _errors(inp, NOT_LINKED)
    delayed = [r for r in inp.log.records if DELAYED.search(r.message)]
    if not stops and not delayed:
        return []
    firsts = first_per(sorted(stops, key=lambda r: (r.ts_ns is None, r.ts_ns or 0, r.lineno)),
                       lambda r: r.element)
    ev = [quote(r) for r in first_per(delayed, lambda r: r.message)]
    ev += [quote(r) for r in first_per(stops, lambda r: (r.kind, r.element))][:6]
    detail: list[str] = []
    subject = None
    fix = "Link every src pad that carries data to something that consumes it, or remove it."
    if delayed:
        m = DELAYED.search(delayed[0].message)
        assert m is not None
        subject = m.group("a")
        detail.append(f"{m.group('a')} created its pads only once it saw the data (a dynamic "
                      f"pad), and none of them could be linked to {m.group('b')}: the pad the "
                      f"pipeline asked for ({m.group('pad')}) never appeared, so the streams "
                      f"it did create lead nowhere.")
        fix = (f"Link {m.group('a')} to a pad the input really has (see which pads it creates "
               f"with GST_DEBUG=GST_ELEMENT_PADS:4 or gst-discoverer-1.0), or handle "
               "pad-added in the application.")
    elif firsts:
        root = firsts[0]
        subject = root.element
        others = [r.element for r in firsts[1:] if r.element]
        detail.append(f"{root.element} pushed data into a pad with nothing behind it "
                      "(not-linked): a src pad without a peer, or a branch that ends without "
                      "a sink.")
        if others:
            detail.append(f"The later reports ({', '.join(others)}) are the same return value "
                          "travelling upstream, not separate problems.")
        if _no_sink(inp, ev):
            detail.append("The pipeline has no sink at all: it reached PAUSED without "
                          "prerolling, and its data has nowhere to go.")
            fix = "End every branch with a sink (fakesink if the data is not needed)."
        unl = _unlinked_src_pads(inp, ev)
        if unl:
            detail.append("Unlinked src pads in the graph: " + ", ".join(unl) + ".")
    return [finish(Finding(code="not-linked", title=f"Data reached an unlinked pad at {subject}"
                           if subject else "Data reached an unlinked pad (not-linked)",
                           severity="critical", subject=subject, evidence=ev, fix=fix,
                           detail=" ".join(detail), element=subject))]


def _no_sink(inp: DoctorInput, ev: list[Evidence]) -> bool:
    msgs = [r for r in inp.log.records if r.kind == "launch" and r.level == "INFO"]
    texts = [r.message for r in msgs]
    if "Setting pipeline to PAUSED ..." in texts and "Pipeline is PREROLLED ..." in texts and \
            "Pipeline is PREROLLING ..." not in texts and not any("live" in t for t in texts):
        r = next(r for r in msgs if r.message == "Pipeline is PREROLLED ...")
        ev.append(quote(r))
        return True
    for d in reversed(inp.dots):
        leaf = [e for e in d.graph.topology.leaf_elements()]
        if leaf and not any((e.type or "").endswith("Sink") or "sink" in (e.type or "").lower()
                            for e in leaf):
            ev.append(fact(d.label, "no sink element in the graph", "dot"))
            return True
        break
    return False


def _unlinked_src_pads(inp: DoctorInput, ev: list[Evidence]) -> list[str]:
    d = inp.latest_dot()
    if d is None:
        return []
    topo = d.graph.topology
    linked = {lk.src for lk in topo.links}
    out = []
    for e in topo.leaf_elements():
        for p in topo.element_pads(e.id, "src"):
            if p.id not in linked:
                out.append(f"{e.name}.{p.name}")
        if (e.type or "") == "GstTee" and not topo.element_pads(e.id, "src"):
            out.append(f"{e.name} (a tee with no branch)")
    if out:
        ev.append(fact(d.label, "unlinked: " + ", ".join(out[:8]), "dot"))
    return out[:8]


# ---------------------------------------------------------------- resources

def _resources(inp: DoctorInput) -> list[Finding]:
    errs = [r for r in inp.log.records if r.level == "ERROR" and r.kind in ("launch", "app")
            and r.element and RESOURCE.search(r.text)]
    errs += [r for r in inp.log.records if r.kind == "debug" and r.level in ("WARN", "ERROR")
             and r.message.startswith("error:") and RESOURCE.search(r.message)]
    out = []
    for r in first_per(errs, lambda r: r.element):
        related = [x for x in inp.log.records if x.element == r.element and x.level in (
            "ERROR", "WARN") and x is not r and (x.message.startswith("error:") or
                                                 x.kind == "launch")][:3]
        text = " ".join([r.text] + [x.text for x in related])
        if BUSY.search(text):
            code, what = "resource-busy", "is busy (another process or element holds it)"
            fix = ("Stop the other user of the device or port (fuser/lsof show it), or pick "
                   "another one.")
        elif DENIED.search(text):
            code, what = "resource-denied", "cannot be opened: permission denied"
            fix = "Give the user access (group video/render for devices) or fix the path's mode."
        elif NOT_FOUND.search(text):
            code, what = "resource-not-found", "does not exist"
            fix = "Check the path, URI or device; it does not exist on the machine that ran it."
        else:
            code, what = "resource-error", "could not be opened or configured"
            fix = "Check the element's device, file or address properties."
        m = re.search(r'"([^"]+)"|\'([^\']+)\'|(/dev/\S+)|(\d+\.\d+\.\d+\.\d+:\d+)', text)
        target = next((g for g in m.groups() if g), None) if m else None
        ev = [quote(r)] + [quote(x) for x in related]
        out.append(finish(Finding(
            code=code, title=f"{r.element}: {target or 'its resource'} {what}",
            severity="critical", subject=r.element, evidence=ev, fix=fix, element=r.element,
            detail=f"{r.element} failed when opening its resource: {r.text}")))
    return out


# ---------------------------------------------------------------- drops

def _drops(inp: DoctorInput) -> list[Finding]:
    recs = [r for r in inp.log.records if DROPPED.search(r.text) or TOO_SLOW.search(r.text)]
    if not recs:
        return []
    sinks = [e for e in dict.fromkeys(r.element for r in recs) if e]
    ev = [quote(r) for r in first_per(recs, lambda r: (r.kind, r.element, r.message))][:4]
    return [finish(Finding(
        code="late-buffers-dropped",
        title=f"{', '.join(sinks) or 'A sink'} dropped many buffers that arrived too late",
        severity="warning", subject=sinks[0] if sinks else None, evidence=ev,
        element=sinks[0] if sinks else None,
        detail=("A sink that syncs to the clock shows each buffer at its timestamp; buffers that "
                "arrive later than its max-lateness are thrown away, and after many in a row it "
                "posts this warning. Either the pipeline upstream cannot keep up with real time "
                "(an element is too slow for the frame rate: 'this computer is too slow'), or "
                "the timestamps are wrong (a source that stamps buffers in the past, a wrong "
                "framerate)."),
        fix=("Find the slow element (pipesight profile); lower the resolution or frame rate, or "
             "use hardware elements. If real-time display is not wanted (a benchmark, a file "
             "output), set sync=false on the sink. If the source is live, check that it "
             "timestamps buffers (do-timestamp=true) and that latency is configured."),
        references=["https://gstreamer.freedesktop.org/documentation/base/gstbasesink.html"],
    ))]
