"""Errors, warnings and QoS reports that elements posted on the bus."""

from __future__ import annotations

from collections import defaultdict

from pipesight.analyses import knob_advice
from pipesight.analyses.context import Context
from pipesight.findings import Evidence, Finding


def analyze(ctx: Context) -> list[Finding]:
    out: list[Finding] = []
    msgs = ctx.trace.messages
    errors = [m for m in msgs if m.get("type") == "error"]
    warnings = [m for m in msgs if m.get("type") == "warning"]
    for m in errors[:3]:
        out.append(Finding(
            code="pipeline-error",
            title=f"{m.get('element', '?')} posted an error: {m.get('text') or '?'}",
            severity="critical",
            subject=str(m.get("element")),
            evidence=[Evidence("debug", str(m.get("debug") or "")[:300], "", "bus")],
            fix="Run `pipesight doctor` on the run directory for an explanation.",
            confidence="confirmed",
        ))
    seen: set[tuple[str, str]] = set()
    for m in warnings:
        key = (str(m.get("element")), str(m.get("text")))
        if key in seen:
            continue
        seen.add(key)
        out.append(Finding(
            code="pipeline-warning",
            title=f"{key[0]} posted a warning: {key[1]}",
            severity="warning",
            subject=key[0],
            evidence=[Evidence("debug", str(m.get("debug") or "")[:300], "", "bus")],
            confidence="confirmed",
        ))
        if len(seen) >= 5:
            break
    # QoS: each message carries running totals of processed and dropped buffers
    qos: dict[str, dict] = defaultdict(dict)
    for m in msgs:
        if m.get("type") == "qos":
            q = qos[str(m.get("element"))]
            q["n"] = q.get("n", 0) + 1
            q["dropped"] = max(q.get("dropped", 0), int(m.get("dropped") or 0))
            q["processed"] = max(q.get("processed", 0), int(m.get("processed") or 0))
            q["jitter"] = max(q.get("jitter", 0), int(m.get("jitter") or 0))
    for el, q in sorted(qos.items(), key=lambda kv: -kv[1].get("dropped", 0)):
        if q.get("dropped", 0) <= 0:
            continue
        total = q["dropped"] + q["processed"]
        out.append(Finding(
            code="qos-dropped",
            title=(f"{el} dropped {q['dropped']} of {total} buffers because they arrived too late "
                   f"(QoS; worst lateness {q['jitter'] / 1e6:.1f} ms)"),
            severity="warning",
            subject=el,
            evidence=[
                Evidence("dropped", q["dropped"], "buffers", "bus"),
                Evidence("processed", q["processed"], "buffers", "bus"),
                Evidence("qos_messages", q["n"], "messages", "bus"),
            ],
            fix=" ".join(x for x in (
                "Buffers reach the sink after their presentation time: the pipeline upstream is "
                "too slow for real time, or the sink's clock sync is not wanted (sync=false).",
                _qos_words(ctx, el)) if x),
            confidence="confirmed",
        ))
    return out


def _qos_words(ctx: Context, name: str) -> str | None:
    e = ctx.trace.topology.by_name(name)
    return None if e is None else knob_advice.words(ctx, e.id, "qos")
