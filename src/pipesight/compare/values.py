"""The numbers compare reads from a verdict (its dict form: Verdict.to_dict() or a
verdict.json), keyed by (section, subject), and their values over a side's repeats.

Nothing is measured here: each number is one the verdict already holds, at most rescaled
(a fraction shown as a percentage, a count per second of the window).
"""

from __future__ import annotations

import re
from typing import Any

from pipesight.compare.noise import Spread

Key = tuple[str, str]  # (section, subject)
Values = dict[Key, dict[str, float]]

SECTIONS = ("overall", "sink", "element", "thread", "queue", "drops", "latency", "path", "gpu",
            "nvtx")
_RANGE = re.compile(r"^gpu_ms\[(.*)\]$", re.S)


def _num(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def _put(out: Values, key: Key, metric: str, value: Any, scale: float = 1.0) -> None:
    v = _num(value)
    if v is not None:
        out.setdefault(key, {})[metric] = v * scale


def _rows(vd: dict[str, Any], name: str) -> list[dict[str, Any]]:
    rows = vd.get(name)
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def window_s(vd: dict[str, Any]) -> float | None:
    w = vd.get("window") or {}
    s, e = _num(w.get("start_s")), _num(w.get("end_s"))
    return None if s is None or e is None or e <= s else e - s


def frames(vd: dict[str, Any]) -> float | None:
    fps, secs = _num(vd.get("throughput_fps")), window_s(vd)
    return None if fps is None or secs is None else fps * secs


def extract(vd: dict[str, Any]) -> Values:
    out: Values = {}
    _put(out, ("overall", ""), "throughput_fps", vd.get("throughput_fps"))
    for s in _rows(vd, "sinks"):
        if isinstance(s.get("element"), str):
            _put(out, ("sink", s["element"]), "fps", s.get("fps"))
    for r in _rows(vd, "elements"):
        if not isinstance(r.get("name"), str):
            continue
        k = ("element", r["name"])
        _put(out, k, "ms_per_buffer", r.get("mean_process_ms"))
        _put(out, k, "p99_ms", r.get("p99_process_ms"))
        _put(out, k, "thread_share_pct", r.get("thread_share"), 100.0)
        _put(out, k, "fps", r.get("fps"))
        _put(out, k, "worker_cpu_pct", r.get("worker_cpu_pct"))
    for t in _rows(vd, "threads"):
        # streaming threads only: worker and other threads are labelled by their kernel id,
        # which no other run shares (an element's workers are compared in its own row)
        if isinstance(t.get("thread"), str) and t.get("role", "streaming") == "streaming":
            _put(out, ("thread", t["thread"]), "busy_pct", t.get("busy_pct"))
            _put(out, ("thread", t["thread"]), "cpu_pct",
                 t.get("cpu_pct") if t.get("cpu_pct") is not None else t.get("proc_cpu_pct"))
    for q in _rows(vd, "queues"):
        if not isinstance(q.get("element"), str):
            continue
        k = ("queue", q["element"])
        _put(out, k, "mean_fill_pct", q.get("mean_fill"), 100.0)
        _put(out, k, "full_pct", q.get("full_pct"))
        _put(out, k, "empty_pct", q.get("empty_pct"))
    _drops(vd, out)
    _latency(vd, out)
    _gpus(vd, out)
    _nvtx(vd, out)
    return out


def _drops(vd: dict[str, Any], out: Values) -> None:
    """Buffers dropped on purpose: leaky queues (their counters) and QoS (sinks and
    elements that skip late buffers, from their bus messages)."""
    lost: dict[str, list[float]] = {}  # element -> [dropped, of]
    for q in _rows(vd, "queues"):
        d, n = _num(q.get("dropped")), _num(q.get("buffers_in"))
        if isinstance(q.get("element"), str) and d is not None:
            x = lost.setdefault(q["element"], [0.0, 0.0])
            x[0] += d
            x[1] += n or 0.0
    for f in _rows(vd, "findings"):
        if f.get("code") != "qos-dropped" or not isinstance(f.get("subject"), str):
            continue
        ev = {e.get("metric"): _num(e.get("value")) for e in f.get("evidence") or []
              if isinstance(e, dict)}
        d, p = ev.get("dropped"), ev.get("processed")
        if d is not None:
            x = lost.setdefault(f["subject"], [0.0, 0.0])
            x[0] += d
            x[1] += d + (p or 0.0)
    for name, (d, of) in lost.items():
        if d <= 0 and not of:
            continue
        _put(out, ("drops", name), "dropped", d)
        if of > 0:
            _put(out, ("drops", name), "dropped_pct", 100.0 * d / of)


def _latency(vd: dict[str, Any], out: Values) -> None:
    """GStreamer's latency tracer: per element ("latency") and source to sink ("path")."""
    lat = vd.get("latency") if isinstance(vd.get("latency"), dict) else {}
    for section, rows in (("latency", lat.get("elements")), ("path", lat.get("pipeline"))):
        for r in rows if isinstance(rows, list) else []:
            if isinstance(r, dict) and isinstance(r.get("name") or r.get("key"), str):
                k = (section, r.get("name") or r.get("key"))
                _put(out, k, "latency_ms", r.get("mean_ms"))
                _put(out, k, "latency_p99_ms", r.get("p99_ms"))


def _gpus(vd: dict[str, Any], out: Values) -> None:
    for g in _rows(vd, "gpus"):
        dev = g.get("device")
        if dev is None:
            continue
        k = ("gpu", str(dev))
        _put(out, k, "gpu_busy_pct", g.get("busy_fraction"), 100.0)
        span, idle, gaps = _num(g.get("span_ms")), _num(g.get("idle_ms")), _num(g.get("idle_gaps"))
        if span and span > 0:
            if idle is not None:
                _put(out, k, "gpu_idle_pct", 100.0 * idle / span)
            if gaps is not None:
                _put(out, k, "gpu_gaps_per_s", gaps / (span / 1000.0))


def _nvtx(vd: dict[str, Any], out: Values) -> None:
    """GPU time per NVTX range, from the finding that lists it (evidence gpu_ms[RANGE])."""
    n = frames(vd)
    for f in _rows(vd, "findings"):
        ev = [e for e in f.get("evidence") or [] if isinstance(e, dict)]
        total = next((_num(e.get("value")) for e in ev
                      if e.get("metric") == "gpu_busy_ms_all_devices"), None)
        for e in ev:
            m = _RANGE.match(str(e.get("metric") or ""))
            ms = _num(e.get("value"))
            if m is None or ms is None:
                continue
            k = ("nvtx", m.group(1))
            _put(out, k, "gpu_ms", ms)
            if n:
                _put(out, k, "gpu_ms_per_frame", ms / n)
            if total:
                _put(out, k, "gpu_share_pct", 100.0 * ms / total)


def spreads(verdicts: list[dict[str, Any]]) -> dict[Key, dict[str, Spread]]:
    """Each number over a side's runs (one run: one value)."""
    acc: dict[Key, dict[str, list[float]]] = {}
    for vd in verdicts:
        for key, metrics in extract(vd).items():
            for m, v in metrics.items():
                acc.setdefault(key, {}).setdefault(m, []).append(v)
    return {k: {m: Spread(tuple(vs)) for m, vs in ms.items()} for k, ms in acc.items()}
