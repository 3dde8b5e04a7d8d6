"""Evidence as doctor quotes it: the exact lines of a log, a DOT dump or gst-inspect-1.0, each
with where it came from."""

from __future__ import annotations

from pipesight.findings import Evidence, Finding, confidence
from pipesight.readers.gst_debug_log import LogRecord

SOURCE = {"debug": "gst-debug-log", "launch": "gst-launch", "glib": "glib-log",
          "app": "app-output"}


def quote(rec: LogRecord) -> Evidence:
    return Evidence(rec.where(), rec.quote(), "", SOURCE.get(rec.kind, "log"))


def finish(f: Finding) -> Finding:
    f.confidence = confidence(e.source for e in f.evidence)
    return f


def first_per(records: list[LogRecord], key) -> list[LogRecord]:
    """The first record of each key, in order."""
    seen: set = set()
    out = []
    for r in records:
        k = key(r)
        if k in seen:
            continue
        seen.add(k)
        out.append(r)
    return out
