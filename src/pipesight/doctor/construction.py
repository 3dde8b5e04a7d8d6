"""Pipelines that cannot be built: an element that does not exist (never installed, or its
plugin failed to load), a property the element does not have, two elements that cannot be
linked (their caps do not intersect)."""

from __future__ import annotations

import difflib
import re
from pathlib import Path

from pipesight.doctor import caps as capsmod
from pipesight.doctor import inspect, packages
from pipesight.doctor.evidence import finish, first_per, quote
from pipesight.doctor.inputs import DoctorInput
from pipesight.findings import Finding, fact
from pipesight.readers.gst_debug_log import LogRecord

NO_ELEMENT = re.compile(r'no (?:element|such element factory) "(?P<f>[^"]+)"')
LOAD_FAILED = re.compile(r"Failed to load plugin '(?P<file>[^']+)': (?P<err>.*)")
NO_PROPERTY = re.compile(r'no property "(?P<p>[^"]+)" in element "(?P<e>[^"]+)"')
GOBJECT_NO_PROPERTY = re.compile(r"object class '(?P<cls>[^']+)' has no property named "
                                 r"'(?P<p>[^']+)'")
BAD_VALUE = re.compile(r'could not set property "(?P<p>[^"]+)" in element "(?P<e>[^"]+)" to '
                       r'"(?P<v>[^"]*)"')
LINK = re.compile(r"could not link (?P<a>\S+?) to (?P<b>[^,\s]+)(?:, (?P<c>\S+) can't handle "
                  r"caps (?P<caps>.+))?$")
DS_REGISTRY_DOC = ("https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/"
                   "DS_troubleshooting.html")
GST_REGISTRY_DOC = "https://gstreamer.freedesktop.org/documentation/gstreamer/running.html"


def analyze(inp: DoctorInput) -> list[Finding]:
    missing = _missing(inp)
    quoted = {e.metric for f in missing for e in f.evidence}
    return [*missing, *_load_failures_alone(inp, quoted), *_properties(inp), *_links(inp)]


# ---------------------------------------------------------------- missing elements

def _load_failures(inp: DoctorInput) -> list[LogRecord]:
    return first_per([r for r in inp.log.records if LOAD_FAILED.search(r.message)],
                     lambda r: LOAD_FAILED.search(r.message).group("file"))  # type: ignore[union-attr]


def _missing(inp: DoctorInput) -> list[Finding]:
    recs = [r for r in inp.log.records if r.level in ("ERROR", "WARN", "INFO")
            and NO_ELEMENT.search(r.message)]
    by_factory: dict[str, list[LogRecord]] = {}
    for r in recs:
        by_factory.setdefault(NO_ELEMENT.search(r.message).group("f"), []).append(r)  # type: ignore[union-attr]
    failures = _load_failures(inp)
    out = []
    for fac, rs in by_factory.items():
        ev = [quote(r) for r in first_per(rs, lambda r: r.kind)]
        org = packages.origin(fac)
        related = [r for r in failures if _plugin_matches(fac, org, LOAD_FAILED.search(
            r.message).group("file"))]  # type: ignore[union-attr]
        here = inspect.exists(fac)
        black = [b for b in (inspect.blacklisted() or ()) if _plugin_matches(fac, org, b)]
        detail: list[str] = []
        fix: str
        title: str
        refs: list[str] = []
        if related or black:
            title = f'Element "{fac}" exists, but its plugin failed to load'
            for r in related:
                ev.append(quote(r))
                m = LOAD_FAILED.search(r.message)
                assert m is not None
                detail.append(f"The loader could not open {m.group('file')}: {m.group('err')}.")
            for b in black:
                err = inspect.load_error(b)
                ev.append(fact("gst-inspect-1.0 -b", b, "gst-inspect"))
                if err:
                    ev.append(fact(f"gst-inspect-1.0 {b}", err, "gst-inspect"))
                detail.append(f"GStreamer's registry has blacklisted {b} (it failed to load once "
                              "and is not tried again until the registry is rebuilt).")
            fix = ("Install the library the plugin needs (see the loader's error; `ldd` on the "
                   "plugin file lists what is missing), then delete the registry cache "
                   "(rm -rf ~/.cache/gstreamer-1.0) so that the plugin is scanned again.")
            refs = [DS_REGISTRY_DOC if org.deepstream else GST_REGISTRY_DOC]
        elif here:
            title = f'Element "{fac}" was not found when the pipeline ran, but this machine has it'
            info = inspect.element(fac)
            where = info.filename if info else None
            if where:
                ev.append(fact(f"gst-inspect-1.0 {fac}", f"Filename {where}", "gst-inspect"))
            detail.append("The run saw a different plugin set: another GST_PLUGIN_PATH, a stale "
                          "registry, or another machine or container.")
            fix = ("Run with the same environment as gst-inspect-1.0 here; if the plugin was "
                   "installed after the registry was written, delete ~/.cache/gstreamer-1.0.")
        elif org.package:
            title = f'Element "{fac}" is not installed: it comes with the {org.package} package'
            detail.append(f'No plugin on this system registers "{fac}". On Debian and Ubuntu it '
                          f"is part of {org.package}.")
            fix = org.install_hint()
            ev.append(fact("Debian package metadata (Gstreamer-Elements)", f"{fac}: {org.package}",
                           "package-table"))
        elif org.deepstream:
            title = f'DeepStream element "{fac}" is not available'
            where = f" (plugin file {org.plugin_file})" if org.plugin_file else ""
            detail.append(f'"{fac}" is an NVIDIA DeepStream plugin{where}; it is installed with '
                          "the DeepStream SDK, not with a Debian package. Either DeepStream is "
                          "not installed here, or its plugin failed to load (no loader error was "
                          "in the log: run with GST_DEBUG=GST_PLUGIN_LOADING:4, or "
                          "`gst-inspect-1.0 -b` on that machine).")
            fix = ("Install the DeepStream SDK; if it is installed, check `gst-inspect-1.0 -b` for "
                   "blacklisted nvds plugins and delete ~/.cache/gstreamer-1.0 after fixing the "
                   "missing library.")
            refs = [DS_REGISTRY_DOC]
        else:
            near = packages.similar(fac, inspect.all_factories())
            title = f'No element "{fac}" exists'
            if near:
                detail.append(f"Did you mean {', '.join(near)}?")
                fix = f'Check the spelling: "{near[0]}" is a known element.'
            else:
                detail.append("No Debian/Ubuntu package in pipesight's table provides it and this "
                              "machine's registry does not know it.")
                fix = "Check the spelling, or install the plugin that provides it."
        out.append(finish(Finding(
            code="missing-element", title=title, severity="critical", subject=fac,
            evidence=ev, fix=fix, detail=" ".join(detail), references=refs, element=fac,
        )))
    return out


def _plugin_matches(fac: str, org: packages.Origin, plugin_file: str) -> bool:
    name = Path(plugin_file).name
    if org.plugin_file and name == org.plugin_file:
        return True
    stem = re.sub(r"^lib(gst|nvdsgst_)?|\.so.*$", "", name)
    return bool(stem) and (stem == fac or fac.startswith(stem) or stem in fac)


def _load_failures_alone(inp: DoctorInput, quoted: set[str]) -> list[Finding]:
    """Plugins that failed to load, other than those a missing element already explains."""
    fails = [r for r in _load_failures(inp) if r.where() not in quoted]
    if not fails:
        return []
    ev = [quote(r) for r in fails[:6]]
    files = [LOAD_FAILED.search(r.message).group("file") for r in fails]  # type: ignore[union-attr]
    return [finish(Finding(
        code="plugin-load-failed",
        title=f"{len(fails)} GStreamer plugin file(s) failed to load",
        severity="warning", subject=Path(files[0]).name, evidence=ev,
        detail=("The plugin scanner could not open these files, usually because a library they "
                "link against is missing (the error names it). Their elements are unavailable; "
                "GStreamer remembers the failure in its registry cache."),
        fix=("Install the missing libraries, then delete ~/.cache/gstreamer-1.0 so that the "
             "plugins are scanned again."),
        references=[DS_REGISTRY_DOC],
    ))]


# ---------------------------------------------------------------- properties

def _properties(inp: DoctorInput) -> list[Finding]:
    out = []
    for r in first_per([r for r in inp.log.records if NO_PROPERTY.search(r.message)
                        or GOBJECT_NO_PROPERTY.search(r.message)], lambda r: r.message):
        m = NO_PROPERTY.search(r.message)
        if m:
            prop, el = m.group("p"), m.group("e")
            fac = inp.factory(el) or el
        else:
            m2 = GOBJECT_NO_PROPERTY.search(r.message)
            assert m2 is not None
            prop, el = m2.group("p"), m2.group("cls")
            fac = None
        ev = [quote(r)]
        info = inspect.element(fac) if fac else None
        detail = f'"{el}" has no property "{prop}".'
        fix = (f'Remove "{prop}" or use one of the element\'s properties '
               f"(gst-inspect-1.0 {fac or el}).")
        if info is not None:
            near = difflib.get_close_matches(prop, info.properties, n=3, cutoff=0.6)
            ev.append(fact(f"gst-inspect-1.0 {fac}", "properties: " + ", ".join(info.properties),
                           "gst-inspect"))
            if near:
                detail += f" Close names it does have: {', '.join(near)}."
                fix = f'Did you mean "{near[0]}"? ({fac} has no "{prop}".)'
        out.append(finish(Finding(
            code="no-property", title=f'Element {el} has no property "{prop}"',
            severity="critical", subject=el, evidence=ev, fix=fix, detail=detail, element=el)))
    for r in first_per([r for r in inp.log.records if BAD_VALUE.search(r.message)],
                       lambda r: r.message):
        m = BAD_VALUE.search(r.message)
        assert m is not None
        out.append(finish(Finding(
            code="bad-property-value",
            title=f'Property "{m.group("p")}" of {m.group("e")} cannot take "{m.group("v")}"',
            severity="critical", subject=m.group("e"), evidence=[quote(r)],
            detail="The value does not parse as the property's type, or is out of its range.",
            fix=("See the allowed values with gst-inspect-1.0 "
                 f"{inp.factory(m.group('e')) or m.group('e')}."),
            element=m.group("e"))))
    return out


# ---------------------------------------------------------------- links

_CONVERTER = {
    "width": "videoscale", "height": "videoscale", "pixel-aspect-ratio": "videoscale",
    "framerate": "videorate", "format": "videoconvert (or audioconvert for audio)",
    "rate": "audioresample", "channels": "audioconvert", "layout": "audioconvert",
    "features": "nvvideoconvert (it moves frames into and out of NVMM memory)",
    "media": "the element that turns one media type into the other (a decoder, encoder or parser)",
    "stream-format": "a parser (h264parse, h265parse) that converts it",
    "alignment": "a parser (h264parse, h265parse) that converts it",
}


def converter_for(what: str) -> str:
    return _CONVERTER.get(what, "an element that converts it")


def _links(inp: DoctorInput) -> list[Finding]:
    out = []
    recs = [r for r in inp.log.records if LINK.search(r.message)]
    for r in first_per(recs, lambda r: LINK.search(r.message).group("a", "b")):  # type: ignore[union-attr]
        m = LINK.search(r.message)
        assert m is not None
        a, b, filt = m.group("a"), m.group("b"), m.group("caps")
        ev = [quote(x) for x in first_per([x for x in recs if LINK.search(x.message).group(  # type: ignore[union-attr]
            "a", "b") == (a, b)], lambda x: x.kind)]
        fa = inp.factory(a) or packages.factory_of_name(a)
        fb = inp.factory(b) or packages.factory_of_name(b)
        ia, ib = inspect.element(fa), inspect.element(fb)
        detail, fix = _explain_link(a, b, fa, fb, ia, ib, filt, ev)
        out.append(finish(Finding(
            code="link-failed", title=f"Could not link {a} to {b}", severity="critical",
            subject=f"{a} -> {b}", evidence=ev, fix=fix, detail=detail, element=b)))
    return out


def _explain_link(a: str, b: str, fa: str, fb: str, ia: inspect.ElementInfo | None,
                  ib: inspect.ElementInfo | None, filt: str | None, ev: list) -> tuple[str, str]:
    if ia is None or ib is None:
        missing = fa if ia is None else fb
        return (f"The caps each side offers are not in the log and gst-inspect-1.0 does not know "
                f'"{missing}" on this machine, so where they differ cannot be shown.',
                "Compare `gst-inspect-1.0 A` and `gst-inspect-1.0 B` pad templates; put a "
                "converter between them.")
    src, sink = ia.caps("src"), ib.caps("sink")
    ev.append(fact(f"gst-inspect-1.0 {fa}", f"{a} src pads offer: {capsmod.summarize(src)}",
                   "gst-inspect"))
    ev.append(fact(f"gst-inspect-1.0 {fb}", f"{b} sink pads accept: {capsmod.summarize(sink)}",
                   "gst-inspect"))
    if filt:
        fc = capsmod.parse(filt)
        r1, r2 = capsmod.intersect(src, fc), capsmod.intersect(fc, sink)
        if not r1.ok:
            conv = converter_for(r1.mismatch.what if r1.mismatch else "")
            return (f"The caps filter {filt} asks {a} for something its src pad never produces "
                    f"({r1.explain()}).", f"Insert {conv} between {a} and the filter, or "
                    "change the filter.")
        if not r2.ok:
            conv = converter_for(r2.mismatch.what if r2.mismatch else "")
            return (f"The caps filter {filt} is not something {b} accepts ({r2.explain()}).",
                    f"Change the filter or insert {conv} after it.")
        keys = _filter_keys(fc)
        conv = converter_for(keys[0]) if keys else "a converter"
        return (f"Both pad templates allow {filt}, so the conflict comes from upstream of {a}: it "
                f"can only output what its own input allows, and {a} ({fa}) does not change "
                f"{', '.join(keys) or 'these fields'} — the caps already fixed before it do not "
                f"meet the filter.", f"Insert {conv} before the filter (after {a}).")
    r = capsmod.intersect(src, sink)
    if r.ok:
        return (f"The pad templates of {fa} and {fb} intersect, so the caps {a} is constrained to "
                "upstream (or properties such as a caps filter) leave nothing that "
                f"{b} accepts.", f"Look at the caps fixed upstream of {a}; insert a converter.")
    what = r.mismatch.what if r.mismatch else "media"
    return (f"{a} ({fa}) produces {capsmod.summarize(src)} and {b} ({fb}) accepts "
            f"{capsmod.summarize(sink)}: they never meet ({r.explain()}).",
            f"Insert {converter_for(what)} between {a} and {b}.")


def _filter_keys(c: capsmod.Caps) -> list[str]:
    if not c.structures:
        return []
    return list(c.structures[0].fields)
