"""Did A's prediction hold? When A's verdict proposed fixes with predicted rates, the one B
looks like it applied is picked from what changed (A's bottleneck element gone, moved to
another thread, cheaper; the sink's clock wait or the live source gone), and its number is put
beside B's throughput: "predicted X, got Y"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipesight.compare.matching import Matching

RATE_OK = 0.15  # a rate prediction within 15% held
UPPER_OK = 0.05  # an upper bound may be beaten by the noise of one run


@dataclass
class PredictionCheck:
    action: str
    text: str
    predicted_fps: float
    bound: str  # "rate" or "upper"
    got_fps: float
    why: str  # how the fix was recognised in B
    element: str | None = None  # A's bottleneck element

    @property
    def error_pct(self) -> float:
        return 100.0 * (self.predicted_fps - self.got_fps) / self.got_fps

    @property
    def held(self) -> bool:
        if self.bound == "upper":
            return self.got_fps <= (1 + UPPER_OK) * self.predicted_fps
        return abs(self.predicted_fps - self.got_fps) <= RATE_OK * self.got_fps


def check(va: dict[str, Any], vb: dict[str, Any], m: Matching, got: float | None = None
          ) -> PredictionCheck | None:
    """``got``: B's throughput (over repeats, their mean; default: B's verdict's)."""
    b = va.get("bottleneck") or {}
    fixes = [f for f in b.get("fixes") or [] if f.get("predicted_fps")]
    got = vb.get("throughput_fps") if got is None else got
    if not fixes or not got:
        return None
    by = {f["action"]: f for f in fixes}
    action, why = _applied(va, vb, m, set(by))
    f = by.get(action) if action else None
    if f is None:
        f, why = fixes[0], "the first fix A's verdict proposed (B's change was not recognised)"
    return PredictionCheck(f["action"], f["text"], float(f["predicted_fps"]),
                           f.get("bound") or "rate", float(got), why, b.get("element"))


def _applied(va: dict, vb: dict, m: Matching, have: set[str]) -> tuple[str | None, str]:
    ba, bb = va.get("bottleneck") or {}, vb.get("bottleneck") or {}
    el = ba.get("element")
    if ba.get("kind") == "sink-sync" and bb.get("kind") != "sink-sync" and "sync-false" in have:
        return "sync-false", f"{el} no longer paces B"
    if ba.get("kind") == "live-source" and bb.get("kind") != "live-source" and "not-live" in have:
        return "not-live", "B has no live source setting the rate"
    if el is None:
        return None, ""
    if el in m.only_a:
        return "remove", f"{el} is gone from B"
    rows_a = {r["name"]: r for r in va.get("elements") or []}
    rows_b = {r["name"]: r for r in vb.get("elements") or []}
    el_b = m.in_b(el) or el
    ra, rb = rows_a.get(el), rows_b.get(el_b)
    if ra is None or rb is None:
        return None, ""
    if ra.get("type") != rb.get("type") and "remove" in have:
        return "remove", f"{el} was replaced ({ra.get('type')} by {rb.get('type')})"
    split = next((a for a in ("queue-before", "queue-after") if a in have), None)
    if split and _alone_in_b(el_b, rb, vb) and not _alone_in_b(el, ra, va):
        return split, f"{el} runs on a thread of its own in B"
    pa, pb = ra.get("mean_process_ms"), rb.get("mean_process_ms")
    if pa and pb and pb < 0.8 * pa and "remove" in have:
        return "remove", f"{el} got cheaper ({pa:.3g} to {pb:.3g} ms a buffer): at most"
    return None, ""


def _alone_in_b(name: str, row: dict, v: dict) -> bool:
    """The element takes nearly all of its thread's busy time."""
    share = row.get("thread_share") or 0.0
    thread = row.get("thread")
    busy = next((t.get("busy_pct") for t in v.get("threads") or [] if t.get("thread") == thread),
                None)
    return bool(busy) and 100 * share >= 0.9 * busy


def _what(p: PredictionCheck) -> str:
    el = p.element or "the bottleneck"
    return {"queue-before": f"a queue before {el}", "queue-after": f"a queue after {el}",
            "set-property": p.text.split(":", 1)[0].replace("Set ", "", 1),
            "remove": f"{el} costing nothing",
            "cheaper": f"{el} at half its time", "sync-false": "sync=false",
            "not-live": "a source that is not live", "latency": "more latency"
            }.get(p.action, p.action)


def sentence(p: PredictionCheck) -> str:
    if p.bound == "upper":
        held = "within the bound" if p.held else "the bound was beaten"
        return (f"A predicted at most {p.predicted_fps:.1f} fps for {_what(p)} ({p.why}), got "
                f"{p.got_fps:.1f} ({held})")
    off = "" if p.held else f", off by more than {100 * RATE_OK:.0f}%"
    return (f"A predicted {p.predicted_fps:.1f} fps for {_what(p)} ({p.why}), got "
            f"{p.got_fps:.1f} ({p.error_pct:+.0f}%{off})")
