"""DeepStream's own FPS prints (``**PERF:``), from deepstream-app and the Python sample apps.

Formats read:
  deepstream-app (C):   ``**PERF:  FPS 0 (Avg)\\tFPS 1 (Avg)`` (a header, every 20 prints), then
                        ``**PERF:  30.02 (29.87)\\t29.98 (29.80)`` (current and average FPS per
                        stream); newer releases print an ``asctime`` line before each and
                        ``PERF(i):`` when several app instances run; with nvmultiurisrcbin the
                        values come on the line after ``**PERF:``, optionally as
                        ``sensor_id[sensor_name] 30.00 (29.9)``.
  Python sample apps:   ``**PERF:  {'stream0': 30.0, 'stream1': 29.98}`` (current FPS only), and
                        the older ``Fps of stream 0 is  30.0``.
A header's ``FPS 0 (Avg)`` names a stream; it is never read as a rate of 0.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from pipesight.trace.samples import INDEX, SECONDS, Samples, Series

SOURCE = "deepstream-perf"

_PREFIX = re.compile(r"^\s*(?:\*\*PERF\s*:|PERF\((\d+)\)\s*:)\s*(.*)$")
_HEADER = re.compile(r"FPS[ _]?(\d+)\s*\(Avg\)")
_RATE = r"(-?\d+(?:\.\d+)?|nan|inf)"
# "30.02 (29.87)", or "sensor_id[sensor_name] 30.02 (29.87)"
_PAIR = re.compile(r"(?:(\S+?)\[([^\]]*)\]\s*)?" + _RATE + r"\s*\(\s*" + _RATE + r"\s*\)")
_DICT = re.compile(r"\{([^{}]*)\}?")
_DICT_ITEM = re.compile(r"['\"]([^'\"]+)['\"]\s*:\s*(-?\d+(?:\.\d+)?)")
_OLD_PY = re.compile(r"Fps of stream\s+(\S+)\s+is\s+(-?\d+(?:\.\d+)?)")
_ASCTIME = re.compile(r"^\s*(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep"
                      r"|Oct|Nov|Dec) +\d{1,2} \d\d:\d\d:\d\d \d{4}\s*$")
_TIME_IN_PERF = re.compile(r"^\((.*)\)\s*$")  # **PERF: (Mon May 15 12:00:00 2023)


@dataclass
class PerfPrint:
    index: int
    stamp: datetime | None
    fps: dict[str, float] = field(default_factory=dict)
    avg: dict[str, float] = field(default_factory=dict)
    style: str = "deepstream-app"


@dataclass
class PerfLog:
    prints: list[PerfPrint] = field(default_factory=list)
    headers: int = 0
    malformed: int = 0
    style: set[str] = field(default_factory=set)


def looks_like_perf(text: str) -> bool:
    return any(_PREFIX.match(line) and (_PAIR.search(line) or _DICT_ITEM.search(line)
                                        or _HEADER.search(line))
               for line in text.splitlines()[:5000]) or bool(_OLD_PY.search(text))


def _asctime(s: str) -> datetime | None:
    try:
        return datetime.strptime(" ".join(s.split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None


def parse(lines: list[str]) -> PerfLog:
    log = PerfLog()
    names: list[str] = []  # stream labels from the last header
    stamp: datetime | None = None
    pending_values = False  # "**PERF:" alone: the values follow on the next line
    pending_instance: str | None = None

    def add_pairs(body: str, instance: str | None) -> bool:
        pairs = list(_PAIR.finditer(body))
        if not pairs:
            return False
        p = PerfPrint(len(log.prints), stamp)
        for i, m in enumerate(pairs):
            if instance is not None:
                key = f"instance {instance}"
            elif m.group(1):
                key = f"stream {m.group(1)}"
            elif i < len(names):
                key = names[i]
            else:
                key = f"stream {i}"
            p.fps[key] = _rate(m.group(3))
            p.avg[key] = _rate(m.group(4))
        log.prints.append(p)
        log.style.add("deepstream-app")
        return True

    for line in lines:
        if _ASCTIME.match(line):
            stamp = _asctime(line)
            continue
        m = _PREFIX.match(line)
        if m is None:
            if pending_values:
                pending_values = False
                if add_pairs(line, pending_instance):
                    continue
            om = _OLD_PY.search(line)
            if om:
                key = f"stream {om.group(1)}"
                last = log.prints[-1] if log.prints else None
                # the old apps print one line per stream in a burst: one print per burst
                if last is None or last.style != "python-old" or key in last.fps:
                    last = PerfPrint(len(log.prints), stamp, style="python-old")
                    log.prints.append(last)
                last.fps[key] = _rate(om.group(2))
                log.style.add("python-old")
            continue
        instance, body = m.group(1), m.group(2).strip()
        if not body or _TIME_IN_PERF.match(body):
            if body:
                stamp = _asctime(_TIME_IN_PERF.match(body).group(1)) or stamp  # type: ignore[union-attr]
            pending_values, pending_instance = True, instance
            continue
        headers = _HEADER.findall(body)
        if headers:
            names = [f"stream {h}" for h in headers]
            log.headers += 1
            continue
        if "{" in body:
            items = _DICT_ITEM.findall(body)
            if items:
                p = PerfPrint(len(log.prints), stamp, style="python")
                for k, v in items:
                    key = k if not re.fullmatch(r"stream\d+", k) else f"stream {k[6:]}"
                    p.fps[key] = _rate(v)
                log.prints.append(p)
                log.style.add("python")
                continue
            if body.strip() == "{}":
                continue
        if not add_pairs(body, instance):
            log.malformed += 1
    return log


def to_samples(log: PerfLog, what: str) -> Samples:
    s = Samples(origin=f"{what}'s first PERF print")
    if not log.prints:
        return s
    stamped = all(p.stamp is not None for p in log.prints)
    if stamped:
        first = log.prints[0].stamp
        assert first is not None
        t = [(p.stamp - first).total_seconds() for p in log.prints]  # type: ignore[operator]
        clock = SECONDS
        s.origin = f"{what}'s first PERF print ({first.isoformat(sep=' ')})"
    else:
        t = [float(p.index) for p in log.prints]
        clock = INDEX
    streams = sorted({k for p in log.prints for k in p.fps}, key=_stream_order)
    for key in streams:
        tt = [t[i] for i, p in enumerate(log.prints) if key in p.fps]
        s.add(Series("fps", "fps", SOURCE, key, _arr(tt), _arr([p.fps[key] for p in log.prints
                                                                 if key in p.fps]), clock))
        if any(key in p.avg for p in log.prints):
            ta = [t[i] for i, p in enumerate(log.prints) if key in p.avg]
            s.add(Series("fps_avg", "fps", SOURCE, key, _arr(ta),
                         _arr([p.avg[key] for p in log.prints if key in p.avg]), clock))
    s.meta[SOURCE] = {"prints": len(log.prints), "streams": streams, "headers": log.headers,
                      "style": sorted(log.style), "timed": stamped}
    if not stamped:
        s.notes.append(f"{what}: PERF prints carry no time: t counts prints (deepstream-app "
                       "prints every perf-measurement-interval-sec, 5 s by default)")
    if log.malformed:
        s.notes.append(f"{what}: skipped {log.malformed} PERF lines that could not be read")
    return s


def _rate(text: str) -> float:
    """A printed rate; NaN (not measured) for what no rate is: inf, or digits beyond a float."""
    x = float(text)
    return x if math.isfinite(x) else math.nan


def _stream_order(key: str) -> tuple[int, str]:
    m = re.search(r"(\d+)$", key)
    return (int(m.group(1)) if m else 1 << 30, key)


def _arr(x: list[float]) -> np.ndarray:
    return np.asarray(x, np.float64)
