"""What gst-inspect-1.0 on this machine says about an element: does it exist, its pad
templates, its properties, its plugin; the registry's blacklisted plugin files and why a plugin
file fails to load. Every answer is None when gst-inspect-1.0 is not there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache

from pipesight.doctor import caps as capsmod

TIMEOUT_S = 30.0
# variables of a traced run that must not leak into gst-inspect-1.0
_DROP_ENV = ("GST_TRACERS", "GST_DEBUG", "GST_DEBUG_FILE", "GST_DEBUG_DUMP_DOT_DIR",
             "PIPESIGHT_TRACE_DIR")


@dataclass
class PadTemplate:
    name: str
    direction: str  # "src" or "sink"
    presence: str  # "always", "sometimes", "request"
    caps: capsmod.Caps
    caps_text: str


@dataclass
class ElementInfo:
    factory: str
    templates: list[PadTemplate] = field(default_factory=list)
    properties: list[str] = field(default_factory=list)
    plugin: str | None = None
    filename: str | None = None
    source_module: str | None = None
    long_name: str | None = None

    def caps(self, direction: str) -> capsmod.Caps:
        """The union of the templates of one direction."""
        out = capsmod.Caps()
        for t in self.templates:
            if t.direction != direction:
                continue
            if t.caps.any:
                return capsmod.Caps(any=True)
            out.structures.extend(t.caps.structures)
        return out


def available() -> bool:
    return shutil.which("gst-inspect-1.0") is not None


def _run(args: list[str]) -> tuple[int, str] | None:
    exe = shutil.which("gst-inspect-1.0")
    if exe is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in _DROP_ENV}
    try:
        r = subprocess.run([exe, *args], capture_output=True, text=True, timeout=TIMEOUT_S,
                           env=env, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return r.returncode, r.stdout + r.stderr


@lru_cache(maxsize=256)
def element(factory: str) -> ElementInfo | None:
    """None when gst-inspect-1.0 is missing or knows no such element."""
    if not re.fullmatch(r"[\w.+-]+", factory or ""):
        return None
    res = _run([factory])
    if res is None or res[0] != 0 or (
            "Pad Templates:" not in res[1] and "Factory Details" not in res[1]):
        return None
    return parse_element(factory, res[1])


def exists(factory: str) -> bool | None:
    if not available():
        return None
    return element(factory) is not None


def parse_element(factory: str, text: str) -> ElementInfo:
    info = ElementInfo(factory)
    m = re.search(r"^\s*Long-name\s+(.+)$", text, re.M)
    info.long_name = m.group(1).strip() if m else None
    sect = _section(text, "Plugin Details:")
    for key, attr in (("Name", "plugin"), ("Filename", "filename"),
                      ("Source module", "source_module")):
        m = re.search(rf"^\s*{key}\s+(.+)$", sect, re.M)
        if m:
            setattr(info, attr, m.group(1).strip())
    pads = _section(text, "Pad Templates:")
    for block in re.split(r"\n(?=\s*(?:SRC|SINK) template: )", pads):
        m = re.search(r"(SRC|SINK) template: '([^']+)'", block)
        if not m:
            continue
        pres = re.search(r"Availability:\s*([\w ]+)", block)
        capm = block.split("Capabilities:", 1)
        caps_text = capm[1] if len(capm) > 1 else "ANY"
        info.templates.append(PadTemplate(
            name=m.group(2), direction=m.group(1).lower(),
            presence=(pres.group(1).strip().lower().replace("on request", "request")
                      if pres else "always"),
            caps=capsmod.parse(caps_text.strip("\n")), caps_text=caps_text.strip(),
        ))
    props = _section(text, "Element Properties:")
    info.properties = re.findall(r"^  ([a-z][\w-]*)\s+: ", props, re.M)
    return info


def _section(text: str, title: str) -> str:
    i = text.find(title)
    if i < 0:
        return ""
    rest = text[i + len(title):]
    # a section ends at the next line that starts in column 0 with a capital
    m = re.search(r"\n(?=[A-Z][^\n]*:?\n)", rest)
    return rest[: m.start()] if m else rest


@lru_cache(maxsize=1)
def blacklisted() -> tuple[str, ...] | None:
    """Plugin files the registry refused (``gst-inspect-1.0 -b``)."""
    res = _run(["-b"])
    if res is None:
        return None
    out = []
    take = False
    for ln in res[1].splitlines():
        if ln.startswith("Blacklisted files:"):
            take = True
            continue
        if take:
            s = ln.strip()
            if not s or s.startswith("Total count"):
                break
            out.append(s)
    return tuple(out)


@lru_cache(maxsize=64)
def load_error(plugin_file: str) -> str | None:
    """What the loader says when asked to load this file (``gst-inspect-1.0 FILE``)."""
    res = _run([plugin_file])
    if res is None or res[0] == 0:
        return None
    lines = [ln.strip() for ln in res[1].splitlines() if ln.strip()]
    return " ".join(lines)[:400] or None


@lru_cache(maxsize=1)
def all_factories() -> tuple[str, ...]:
    """Every element factory this machine's registry knows (for 'did you mean')."""
    res = _run([])
    if res is None:
        return ()
    names = re.findall(r"^[\w.+-]+:\s+([\w.+-]+):", res[1], re.M)
    return tuple(sorted(set(names)))
