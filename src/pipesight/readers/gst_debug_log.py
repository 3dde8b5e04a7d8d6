"""Reader for GStreamer debug output: GST_DEBUG logs (``time pid thread level category
file:line:function:<object> message``, with or without colour codes) and what gst-launch-1.0
itself prints (``ERROR: from element ...``, ``Additional debug info:``, ``WARNING: erroneous
pipeline: ...``, ``Pipeline is PREROLLING ...``), in one file or interleaved.

Tolerant: lines of other programs are kept aside and counted, a message that runs over several
lines keeps its continuation lines, a truncated last line does not stop the reading. Each
record keeps its exact text and line number so that explanations can quote it. The reader
never judges.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipesight.errors import UserError

_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# the tracer-log reader's line shape, extended to the location and object fields
_DEBUG = re.compile(
    r"^\s*(?P<ts>\d+:\d\d:\d\d\.\d+)\s+(?P<pid>\d+)\s+(?P<thread>0x[0-9a-fA-F]+)\s+"
    r"(?P<level>ERROR|WARN|FIXME|INFO|DEBUG|LOG|TRACE|MEMDUMP|NONE)\s+(?P<cat>\S+)\s+"
    r"(?P<file>[^:\s]+):(?P<line>\d+):(?P<func>[^:\s]*):(?:<(?P<obj>[^>]*)>)?\s?(?P<msg>.*)$"
)
_ELEMENT_MSG = re.compile(
    r"^(?P<level>ERROR|WARNING|INFO): from element (?P<path>\S+?): (?P<text>.*)$")
_LAUNCH_PLAIN = re.compile(
    r"^(?:Setting pipeline to \w+ \.\.\.|Pipeline is (?:PREROLLING|PREROLLED|live and does not "
    r"need PREROLL|PREROLLED) \.\.\.|Redistribute latency\.\.\.|New clock: .*|Got EOS from element "
    r'".*"\.|Execution ended after .*|Freeing pipeline \.\.\.|Interrupt: Stopping pipeline \.\.\.|'
    r"EOS on shutdown enabled -- .*|Waiting for EOS\.\.\.|EOS received - stopping pipeline\.\.\.|"
    r"Failed to set pipeline to \w+\.|Got message #\d+ .*|Progress: .*|Prerolled, waiting for "
    r"(?:buffering|async message) to finish\.\.\.|Pipeline is PREROLLED \.\.\.)$"
)
_LAUNCH_ERROR = re.compile(
    r"^(?P<level>ERROR|WARNING): (?P<text>pipeline doesn't want to (?:preroll|pause)\.|"
    r"erroneous pipeline: .*|pipeline could not be constructed: .*|"
    r"Pipeline doesn't want to (?:preroll|pause)\.)$"
)
_VERBOSE_PROP = re.compile(r"^(?P<path>/Gst\S+?)(?:\.\S+)?: (?P<key>[\w-]+) = (?P<value>.*)$")
# deepstream-app and the DeepStream Python samples print bus errors in their own words
_APP_ERROR = re.compile(
    r"^(?P<level>ERROR|WARNING|Error|Warning) from (?P<obj>[^:\s]+): (?P<text>.*)$")
# GLib's own messages: the plugin scanner's "Failed to load plugin", GStreamer-CRITICAL assertions
_GLIB = re.compile(
    r"^\((?P<prog>[^:()]+):(?P<pid>\d+)\): (?P<domain>[\w-]+)-(?P<level>WARNING|CRITICAL|ERROR|"
    r"MESSAGE|INFO|DEBUG) \*\*: (?:(?P<time>\d\d:\d\d:\d\d\.\d+): )?(?P<msg>.*)$"
)
_APP_NVDS = re.compile(r"^\*\* (?P<level>ERROR|WARN|INFO): <(?P<func>[^>]*)>: (?P<text>.*)$")

KEPT_LEVELS = {"ERROR", "WARN", "FIXME", "INFO"}
# DEBUG records worth keeping: state changes, linking and caps, plugin loading
KEPT_DEBUG_CATEGORIES = {
    "GST_STATES", "GST_CAPS", "GST_PADS", "GST_ELEMENT_PADS", "GST_PLUGIN_LOADING",
    "GST_REGISTRY", "GST_PIPELINE", "GST_ERROR_SYSTEM", "GST_BUS",
}
MAX_CONTINUATION = 40


@dataclass
class LogRecord:
    lineno: int  # 1-based line of the record's first line in its file
    # "debug" (GST_DEBUG), "launch" (gst-launch-1.0), "glib" (GLib messages, e.g. the plugin
    # scanner's), "app" (deepstream-app's prints)
    kind: str
    level: str  # ERROR, WARN, INFO, FIXME, DEBUG, ... ("WARN" also for gst-launch WARNING)
    message: str
    raw: str  # the exact first line, colour codes removed
    category: str | None = None
    ts_ns: int | None = None
    pid: int | None = None
    thread: str | None = None
    file: str | None = None
    line: int | None = None
    function: str | None = None
    obj: str | None = None  # "videotestsrc0" or "videotestsrc0:src"
    element_path: str | None = None  # gst-launch's "/GstPipeline:pipeline0/GstFileSrc:filesrc0"
    more: list[str] = field(default_factory=list)  # continuation lines (debug info, caps dumps)
    source: str = ""  # which file it came from (for quoting)

    @property
    def element(self) -> str | None:
        """The element the record is about (the object without its pad)."""
        if self.obj:
            return self.obj.split(":", 1)[0]
        if self.element_path:
            return element_from_path(self.element_path)
        return None

    @property
    def text(self) -> str:
        return " ".join([self.message, *self.more]).strip()

    def quote(self) -> str:
        """The exact lines, for evidence."""
        return "\n".join([self.raw, *self.more])

    def where(self) -> str:
        return f"{self.source or 'log'}:{self.lineno}"


@dataclass
class DebugLog:
    records: list[LogRecord] = field(default_factory=list)
    other_lines: int = 0  # lines of other programs (not GStreamer's)
    other_sample: list[tuple[int, str]] = field(default_factory=list)
    skipped_by_level: Counter = field(default_factory=Counter)
    verbose_caps: list[LogRecord] = field(default_factory=list)  # gst-launch -v "caps = ..."
    sources: list[str] = field(default_factory=list)
    lines: int = 0

    def extend(self, other: DebugLog) -> None:
        self.records.extend(other.records)
        self.other_lines += other.other_lines
        self.other_sample.extend(other.other_sample[: max(0, 20 - len(self.other_sample))])
        self.skipped_by_level.update(other.skipped_by_level)
        self.verbose_caps.extend(other.verbose_caps)
        self.sources.extend(other.sources)
        self.lines += other.lines

    @property
    def gst_records(self) -> int:
        return sum(1 for r in self.records if r.kind in ("debug", "launch", "glib"))

    def find(self, pattern: re.Pattern[str] | str, level: str | None = None,
             kind: str | None = None) -> list[LogRecord]:
        rx = re.compile(pattern) if isinstance(pattern, str) else pattern
        return [r for r in self.records
                if (level is None or r.level == level) and (kind is None or r.kind == kind)
                and rx.search(r.message)]


def element_from_path(path: str) -> str:
    """'/GstPipeline:pipeline0/GstBin:b/GstFileSrc:filesrc0' -> 'filesrc0'."""
    last = path.rstrip(":").rsplit("/", 1)[-1]
    return last.split(":", 1)[1] if ":" in last else last


def parse_ts(ts: str) -> int | None:
    try:
        h, m, s = ts.split(":")
        sec, _, frac = s.partition(".")
        return ((int(h) * 60 + int(m)) * 60 + int(sec)) * 1_000_000_000 + int(
            (frac + "000000000")[:9])
    except ValueError:
        return None


def strip_colour(s: str) -> str:
    return _ANSI.sub("", s) if "\x1b" in s else s


def parse_text(text: str, source: str = "") -> DebugLog:
    log = DebugLog(sources=[source] if source else [])
    last: LogRecord | None = None
    in_debug_info = False
    lines = text.splitlines()
    log.lines = len(lines)
    for i, line0 in enumerate(lines, start=1):
        line = strip_colour(line0).rstrip("\r")
        if not line.strip():
            last = None
            in_debug_info = False
            continue
        m = _DEBUG.match(line)
        if m:
            in_debug_info = False
            level, cat = m.group("level"), m.group("cat")
            if level not in KEPT_LEVELS and cat not in KEPT_DEBUG_CATEGORIES:
                log.skipped_by_level[level] += 1
                last = None
                continue
            last = LogRecord(
                lineno=i, kind="debug", level=level, message=m.group("msg").rstrip(),
                raw=line.rstrip(), category=cat, ts_ns=parse_ts(m.group("ts")),
                pid=int(m.group("pid")), thread=m.group("thread"), file=m.group("file"),
                line=int(m.group("line")), function=m.group("func") or None,
                obj=m.group("obj") or None, source=source,
            )
            log.records.append(last)
            continue
        stripped = line.strip()
        if stripped == "Additional debug info:" and last is not None and last.kind == "launch":
            in_debug_info = True
            last.more.append(stripped)
            continue
        m = _ELEMENT_MSG.match(stripped)
        if m:
            in_debug_info = False
            last = LogRecord(
                lineno=i, kind="launch", level=_level(m.group("level")), message=m.group("text"),
                raw=line.rstrip(), category="gst-launch", element_path=m.group("path"),
                source=source,
            )
            log.records.append(last)
            continue
        m = _LAUNCH_ERROR.match(stripped)
        if m:
            in_debug_info = False
            last = LogRecord(lineno=i, kind="launch", level=_level(m.group("level")),
                             message=m.group("text"), raw=line.rstrip(), category="gst-launch",
                             source=source)
            log.records.append(last)
            continue
        if _LAUNCH_PLAIN.match(stripped):
            in_debug_info = False
            last = LogRecord(lineno=i, kind="launch", level="INFO", message=stripped,
                             raw=line.rstrip(), category="gst-launch", source=source)
            log.records.append(last)
            continue
        m = _VERBOSE_PROP.match(stripped)
        if m:
            rec = LogRecord(lineno=i, kind="launch", level="INFO", message=stripped,
                            raw=line.rstrip(), category="gst-launch-verbose",
                            element_path=m.group("path"), source=source)
            if m.group("key") == "caps":
                log.verbose_caps.append(rec)
            last = None
            continue
        m = _GLIB.match(stripped)
        if m:
            in_debug_info = False
            lvl = {"CRITICAL": "ERROR", "MESSAGE": "INFO"}.get(m.group("level"), m.group("level"))
            last = LogRecord(lineno=i, kind="glib", level=_level(lvl), message=m.group("msg"),
                             raw=line.rstrip(), category=m.group("domain"),
                             pid=int(m.group("pid")), function=m.group("prog"), source=source)
            log.records.append(last)
            continue
        m = _APP_ERROR.match(stripped) or _APP_NVDS.match(stripped)
        if m:
            in_debug_info = False
            gd = m.groupdict()
            last = LogRecord(lineno=i, kind="app", level=_level(gd["level"]),
                             message=gd["text"], raw=line.rstrip(), category="app",
                             obj=gd.get("obj"), function=gd.get("func"), source=source)
            log.records.append(last)
            continue
        if last is not None and (in_debug_info or last.kind in ("debug", "app")) and len(
                last.more) < MAX_CONTINUATION and not _looks_like_new_message(stripped):
            last.more.append(line.rstrip())
            continue
        if last is not None and last.kind == "app" and stripped.startswith("Debug info:"):
            last.more.append(line.rstrip())
            continue
        log.other_lines += 1
        if len(log.other_sample) < 20:
            log.other_sample.append((i, line.rstrip()[:200]))
        last = None
    return log


def _looks_like_new_message(s: str) -> bool:
    """A line another program printed, rather than the rest of a multi-line message."""
    return bool(re.match(r"^(\*\*|\[[A-Z]+\]|[A-Z][A-Za-z ]{2,20}: )", s))


def _level(word: str) -> str:
    w = word.upper()
    return {"WARNING": "WARN"}.get(w, w)


def read(path: Path, label: str | None = None) -> DebugLog:
    try:
        data = path.read_bytes()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror}") from None
    if b"\x00" in data[:65536]:
        raise UserError(f"{path}: a binary file, not a GStreamer debug log")
    return parse_text(data.decode("utf-8", errors="replace"), label or path.name)


def sniff(head: bytes) -> bool:
    """Whether a file's first bytes hold GStreamer debug records or gst-launch-1.0 output."""
    if b"\x00" in head[:4096]:
        return False
    log = parse_text(head.decode("utf-8", errors="replace"))
    return log.gst_records > 0
