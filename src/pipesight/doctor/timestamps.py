"""A muxer given buffers without a timestamp ("Buffer has no PTS" from mp4mux/qtmux, and its
kin in other muxers). A muxer places every buffer in the file at its presentation time, so it
stops at the first one without. Buffers get their times from the element that makes them: a
live source, a demuxer (from the container), a parser that knows the frame rate
(rawvideoparse), an appsrc whose application sets them; a file or pipe read as bytes
(filesrc, fdsrc) carries none, and a caps filter that names a framerate does not stamp
anything. So `videotestsrc ! x264enc ! mp4mux` works and `filesrc ! video/x-raw,... !
x264enc ! mp4mux` stops.

The path from the muxer back to its source is read from a pipeline graph (DOT dump)."""

from __future__ import annotations

import re

from pipesight.doctor.evidence import finish, quote
from pipesight.doctor.inputs import DoctorInput
from pipesight.findings import Evidence, Finding, fact
from pipesight.readers.gst_debug_log import LogRecord
from pipesight.trace import Topology

NO_PTS = re.compile(r"Buffer has no PTS|no pts on buffer|Invalid buffer timestamp|"
                    r"Timestamping error on input streams", re.I)
# the same failure seen from upstream: the flow error travelling back to the source
UPSTREAM_STOP = re.compile(r"Internal data stream error|streaming stopped, reason error")
# elements that read bytes and stamp no time on them
BYTE_SOURCES = {"filesrc", "fdsrc", "multifilesrc", "souphttpsrc", "giosrc", "tcpclientsrc",
                "tcpserversrc", "udpsrc", "shmsrc"}
BYTE_SOURCE_TYPES = {"GstFileSrc", "GstFdSrc", "GstMultiFileSrc", "GstSoupHTTPSrc", "GstGioSrc",
                     "GstTCPClientSrc", "GstTCPServerSrc", "GstShmSrc"}
RAW_PARSERS = {"rawvideoparse", "rawaudioparse", "videoparse", "audioparse",
               "unalignedvideoparse", "unalignedaudioparse"}
DOC = "https://gstreamer.freedesktop.org/documentation/rawparse/rawvideoparse.html"


def analyze(inp: DoctorInput) -> list[Finding]:
    recs = [r for r in inp.log.records if r.level in ("ERROR", "WARN") and NO_PTS.search(r.text)]
    if not recs:
        return []
    muxer = next((r.element for r in recs if r.element), None)
    ev: list[Evidence] = [quote(r) for r in _first_lines(recs)]
    # the flow error it caused, reported again by each element upstream: the same failure
    ev += [quote(r) for r in inp.log.records if r.level == "ERROR" and r.kind == "launch"
           and r.element != muxer and UPSTREAM_STOP.search(r.text)][:3]
    chain = _upstream(inp, muxer, ev)
    detail, fix = _words(inp, muxer, chain)
    return [finish(Finding(
        code="no-timestamps", title=f"{muxer or 'A muxer'} was given buffers without a "
        "timestamp (no PTS)", severity="critical", subject=muxer, evidence=ev, fix=fix,
        detail=detail, element=muxer, references=[DOC]))]


def _first_lines(recs: list[LogRecord]) -> list[LogRecord]:
    seen: set[tuple[str, str | None]] = set()
    out = []
    for r in recs:
        if (r.kind, r.element) not in seen:
            seen.add((r.kind, r.element))
            out.append(r)
    return out[:3]


def _upstream(inp: DoctorInput, muxer: str | None, ev: list[Evidence]) -> list[str]:
    """The elements from the source to the muxer (both included), along first sink pads."""
    d = inp.latest_dot()
    if d is None or muxer is None:
        return []
    topo = d.graph.topology
    m = topo.by_name(muxer)
    if m is None:
        return []
    chain = _walk_up(topo, m.id)
    if len(chain) > 1:
        ev.append(fact(d.label, " ! ".join(chain), "dot"))
    return chain


def _walk_up(topo: Topology, eid: int) -> list[str]:
    src_of = {b: a for a, b in topo.pad_edges()}
    out = [topo.name(eid)]
    cur = eid
    for _ in range(64):
        sinks = [p for p in topo.element_pads(cur, "sink") if p.id in src_of]
        if not sinks:
            break
        up = topo.pads[src_of[sorted(sinks, key=lambda p: p.name)[0].id]].element
        if up is None or topo.name(up) in out:
            break
        out.insert(0, topo.name(up))
        cur = up
    return out


def _rawvideoparse(inp: DoctorInput, chain: list[str]) -> str | None:
    """rawvideoparse with the size, format and rate of a raw-video caps filter on the path
    (as the command line gave it), or None."""
    for name in chain:
        caps = inp.capsfilters.get(name, "")
        if not caps.startswith("video/x-raw"):
            continue
        kv = dict(re.findall(r"(\w+)=(?:\(\w+\))?([\w/.]+)", caps))
        if all(k in kv for k in ("width", "height", "format", "framerate")):
            return (f"rawvideoparse width={kv['width']} height={kv['height']} "
                    f"format={kv['format'].lower()} framerate={kv['framerate']}")
    return None


def _kind(inp: DoctorInput, name: str) -> str:
    fac = inp.factory(name) or ""
    d = inp.latest_dot()
    e = d.graph.topology.by_name(name) if d is not None else None
    typ = (e.type if e is not None else None) or ""
    if fac == "appsrc" or typ == "GstAppSrc":
        return "appsrc"
    if fac in BYTE_SOURCES or typ in BYTE_SOURCE_TYPES:
        return "bytes"
    return "other"


def _words(inp: DoctorInput, muxer: str | None, chain: list[str]) -> tuple[str, str]:
    mux = muxer or "the muxer"
    base = (f"{mux} places every buffer in the file at its presentation time (PTS), and it "
            "stops at the first buffer that has none. Buffers get their time from whatever "
            "makes them: a live or test source, a demuxer reading a container, a parser that "
            "knows the frame rate, an application that sets it. ")
    if not chain:
        return (base + "The pipeline graph was not available to say which element should have "
                "stamped them.",
                f"Make the source of {mux}'s input timestamp its buffers: a parser such as "
                "rawvideoparse for raw frames read from a file, do-timestamp=true or buffer "
                "PTS/duration for an appsrc.")
    src = chain[0]
    parsers = [c for c in chain if (inp.factory(c) or "") in RAW_PARSERS]
    path = " ! ".join(chain)
    kind = _kind(inp, src)
    if kind == "appsrc":
        return (base + f"Here the data comes from {src} (an appsrc: {path}), and the "
                "application pushes buffers without a PTS.",
                f"Set a PTS and duration on each buffer the application pushes into {src} "
                "(with format=time), or set do-timestamp=true on it (each buffer is stamped "
                "with the running time when it arrives: right for live data).")
    if kind == "bytes" and not parsers:
        exact = _rawvideoparse(inp, chain)
        return (base + f"Here the data comes from {src}, which reads bytes and stamps no "
                f"time, and nothing on the way ({path}) gives the buffers one: a caps filter "
                "that names a framerate does not stamp buffers, and an encoder keeps the "
                "(missing) time of its input.",
                f"Let a parser cut and stamp the data right after {src}: for raw video, "
                + (f"`{inp.factory(src) or src} ... ! {exact} ! ...` in place of the caps "
                   "filter" if exact else "rawvideoparse width=W height=H format=F "
                   "framerate=N/D in place of the caps filter")
                + " (rawaudioparse for raw audio); for an encoded elementary stream, read it "
                "from a container that carries timestamps, or make it with timing "
                "information.")
    return (base + f"The buffers reaching {mux} along {path} carry none: the element that "
            "makes them does not stamp them.",
            f"Find which element on {path} should stamp the buffers (the source, or a parser "
            "after it) and configure it to.")
