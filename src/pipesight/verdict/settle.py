"""Ranks the candidate findings, names the one that is the verdict, and makes every other
finding agree with it: a finding may never contradict the verdict.

Each candidate that is not the verdict gets a stance (findings.Stance): another stage near its
limit (secondary), a consequence of the verdict (explained), a signal the verdict could not
rule out (disagrees: the verdict says so and its confidence drops), or not weighed because the
command failed or the window is too short to judge (not-judged). A failed run's verdict is the
failure; a window too short to judge names no stage.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pipesight.analyses.context import Context
from pipesight.analyses.short_window import CODE as SHORT_WINDOW
from pipesight.findings import Bottleneck, Finding

# verdicts that say the pipeline keeps up with (or is late for) a live source: they were only
# emitted after checking it keeps its rate, so they outrank every stage that is merely busy
LIVE_CODES = ("live-source-bound", "live-late")
# a thread that waits this share of the window for a core is held back by the CPUs
WAITS_FOR_CORE = 0.05

_KIND_ORDER = {"cpu": 0, "gpu": 1, "gpu-starved": 1, "hw-engine": 1, "element": 2,
               "sink-sync": 2, "source": 2, "live-source": 3}
_STAGES = ("element", "source", "sink-sync", "live-source")
_SEVERITY = {"critical": 0, "warning": 1, "info": 2}


def rank_key(f: Finding) -> tuple:
    return (
        0 if f.code in LIVE_CODES else 1,
        0 if f.confidence == "confirmed" else 1,
        _SEVERITY[f.severity],
        _KIND_ORDER.get(f.kind or "", 9),
        -_busy(f),
    )


def _busy(f: Finding) -> float:
    for e in f.evidence:
        if e.metric == "thread_busy_pct" and isinstance(e.value, int | float):
            return float(e.value)
    return 0.0


def summary_of(f: Finding) -> str:
    return f"{f.claim}: {f.title}" if f.claim else f.title


@dataclass
class Settled:
    bottleneck: Bottleneck | None  # None: no candidate, the caller says why
    candidates: list[Finding] = field(default_factory=list)  # ranked, stances set


def settle(ctx: Context, candidates: list[Finding], observations: list[Finding]) -> Settled:
    ranked = sorted(candidates, key=rank_key)
    failure = next((f for f in observations if f.code == "target-failed"), None)
    if failure is not None:
        return Settled(_failed(ctx, failure, ranked), ranked)
    short = next((f for f in observations if f.code == SHORT_WINDOW), None)
    if short is not None:
        return Settled(_too_short(short, ranked), ranked)
    if not ranked:
        return Settled(None, ranked)
    top = ranked[0]
    top.stance = "verdict"
    disagree: list[Finding] = []
    for c in ranked[1:]:
        c.stance = _stance(ctx, top, c)
        if c.stance == "disagrees":
            disagree.append(c)
        elif c.stance == "secondary":
            _cap(c, "warning")
            c.detail = _join(c.detail, f"Not the bottleneck: {_name(top)} is. This stage is "
                             "busy too: a fix of the bottleneck gains at most up to its "
                             "capacity.")
        else:  # explained
            _cap(c, "info")
            c.detail = _join(c.detail, _explained_why(top, c))
    summary = summary_of(top)
    confidence = top.confidence
    if disagree:
        words = "; ".join(summary_of(d) for d in disagree)
        summary += f". Signals disagree: {words}"
        confidence = "suspected" if confidence == "confirmed" else confidence
    b = Bottleneck(kind=top.kind or "unknown", element=top.element, thread=top.thread,
                   confidence=confidence, summary=summary, predicted_fps=top.predicted_fps,
                   fixes=list(top.fixes), disagreements=[d.code for d in disagree],
                   headroom=top.headroom, code=top.code)
    return Settled(b, ranked)


def _failed(ctx: Context, failure: Finding, ranked: list[Finding]) -> Bottleneck:
    failure.stance = "verdict"
    summary = failure.title
    fps = ctx.metrics.throughput_fps
    if ranked and fps:
        top = ranked[0]
        summary += (f". While it ran ({fps:.1f} fps), the busiest stage was "
                    f"{_name(top)}; it is not the verdict, since the run did not finish")
    for c in ranked:
        c.stance = "not-judged"
        _cap(c, "info")
        c.detail = _join(c.detail, "Not weighed: the command failed"
                         + ("" if fps else " before any buffer moved, so what it measured says "
                            "nothing about the pipeline's work") + ".")
    return Bottleneck("failed", None, None, "confirmed", summary, code=failure.code)


def _too_short(short: Finding, ranked: list[Finding]) -> Bottleneck:
    """A window too short to judge: no stage is named; the candidates stay, not weighed."""
    short.stance = "verdict"
    for c in ranked:
        c.stance = "not-judged"
        _cap(c, "info")
        c.detail = _join(c.detail, "Not weighed: the window is too short to judge.")
    return Bottleneck("unknown", None, None, "none", f"{short.title}. {short.fix}",
                      code=short.code)


def _stance(ctx: Context, top: Finding, c: Finding) -> str:
    if c.element is not None and c.element == top.element:
        return "explained"  # the same stage, seen by another analysis (the GPU's, the CPU's)
    if top.kind == "cpu":
        if c.kind in _STAGES:
            return "explained" if _waits_for_core(ctx, c) else (
                "disagrees" if c.severity == "critical" else "secondary")
        return "disagrees" if c.severity == "critical" else "secondary"
    if top.code in LIVE_CODES:
        # the pipeline keeps the source's rate: a busy stage is busy at that rate
        return "disagrees" if c.kind == "cpu" and c.severity == "critical" else "secondary"
    if c.kind == "cpu":
        return "disagrees" if c.severity == "critical" else "secondary"
    if c.kind == "gpu-starved":
        # an idle GPU waits for the pipeline's CPU side: the verdict says what holds it up
        return "explained" if top.kind in _STAGES else "secondary"
    if c.kind in ("gpu", "hw-engine") and top.kind in _STAGES:
        return "disagrees" if c.severity == "critical" and top.severity == "critical" \
            else "secondary"
    return "secondary"


def _waits_for_core(ctx: Context, f: Finding) -> bool:
    cpu = ctx.metrics.cpu
    if cpu is None or f.thread is None:
        return False
    for t in ctx.trace.threads:
        if (t.name or t.label()) == f.thread and t.os_tid in cpu.threads:
            w = cpu.threads[t.os_tid].wait_fraction
            return w is not None and w >= WAITS_FOR_CORE
    return False


def _explained_why(top: Finding, c: Finding) -> str:
    if c.element is not None and c.element == top.element:
        return f"The same stage as the verdict ({c.element}), seen from another measurement."
    if top.kind == "cpu":
        return ("Part of the CPU limit: this thread waits for a core, so its time per buffer "
                "includes waiting to run.")
    return f"A consequence of the bottleneck ({_name(top)})."


def _name(f: Finding) -> str:
    return f.element or f.subject or f.kind or f.code


def _cap(f: Finding, worst: str) -> None:
    if _SEVERITY[f.severity] < _SEVERITY[worst]:
        f.severity = worst  # type: ignore[assignment]


def _join(a: str | None, b: str) -> str:
    return f"{a} {b}" if a else b
