"""What moved, in one sentence, and the comparison's status.

Status (throughput and bottleneck only): "faster" / "slower" when the throughput change counts
(see noise), else "bottleneck moved" when the bottleneck is another element or kind, else
"no significant change"; "no throughput" when either side has none.
"""

from __future__ import annotations

from collections.abc import Callable

from pipesight.compare import prediction
from pipesight.compare.comparison import Change, Comparison, Row

MAX_NAMES = 3


def status(c: Comparison) -> str:
    t = c.throughput
    if t.a is None or t.b is None:
        return "no throughput"
    if t.significant:
        return "faster" if (t.delta or 0) > 0 else "slower"
    if c.bottleneck.moved:
        return "bottleneck moved"
    return "no significant change"


def sentence(c: Comparison) -> str:
    parts = []
    el = _element_part(c)
    if el:
        parts.append(el)
    parts.append(_bottleneck_part(c))
    parts.append(_throughput_part(c.throughput))
    if c.prediction is not None:
        parts.append(prediction.sentence(c.prediction))
    drops = _drops_part(c)
    if drops:
        parts.append(drops)
    lat = _latency_part(c)
    if lat:
        parts.append(lat)
    gpu = _gpu_part(c)
    if gpu:
        parts.append(gpu)
    nvtx = _nvtx_part(c)
    if nvtx:
        parts.append(nvtx)
    shape = _shape_part(c)
    if shape:
        parts.append(shape)
    text = "; ".join(parts) + "."
    quiet = (c.status == "no significant change" and el is None and drops is None
             and gpu is None and lat is None and nvtx is None)
    if quiet:
        return "No significant change: " + text
    # element names keep their case
    return text if el is not None else text[0].upper() + text[1:]


def fixed_element(c: Comparison) -> Row | None:
    """The element whose time per buffer changed most (in ms), among changes beyond the
    noise."""
    rows = [r for r in c.section("element") if r.a is not None and r.b is not None
            and "ms_per_buffer" in r.changes and r.changes["ms_per_buffer"].significant]
    return max(rows, key=lambda r: abs(r.changes["ms_per_buffer"].delta or 0.0), default=None)


def _element_part(c: Comparison) -> str | None:
    ea = c.bottleneck.a.get("element")
    if ea is not None and ea in c.matching.only_a:
        return f"{ea} is gone from B"
    r = fixed_element(c)
    if r is None:
        return None
    ch = r.changes["ms_per_buffer"]
    verb = "fell" if (ch.delta or 0) < 0 else "rose"
    name = r.a if r.a == r.b else f"{r.a} (B's {r.b})"
    text = f"{name}'s time per buffer {verb} from {_ms(ch.a)} to {_ms(ch.b)} ms"
    if r.type_a and r.type_b and r.type_a != r.type_b:
        text += f" ({r.type_a} replaced by {r.type_b})"
    return text


KIND_WORDS = {"cpu": "the CPUs", "gpu": "the GPU", "gpu-starved": "a starved GPU",
               "source": "the source", "live-source": "a live source",
               "sink-sync": "a sink's clock", "unknown": "unknown", "element": "an element"}


def _label(b: dict, other_name: str | None) -> str:
    el, kind = b.get("element"), b.get("kind") or "unknown"
    if el is None:
        return KIND_WORDS.get(kind, kind)
    text = el if other_name in (None, el) else f"{el} (A's {other_name})"
    return text if kind == "element" else f"{text} ({kind})"


def _bottleneck_part(c: Comparison) -> str:
    bm = c.bottleneck
    la = _label(bm.a, None)
    lb = _label(bm.b, bm.b_element_in_a)
    if bm.moved:
        return f"the bottleneck moved from {la} to {lb}"
    if (bm.b.get("kind") or "unknown") == "unknown":
        return "neither run has a named bottleneck"
    return f"the bottleneck is still {lb}"


def _throughput_part(t: Change) -> str:
    if t.a is None or t.b is None:
        if t.a is None and t.b is None:
            return "neither run has a throughput (no buffer reached a sink)"
        return f"{'A' if t.a is None else 'B'} has no throughput (no buffer reached a sink)"
    pct = t.delta_pct
    rel = "" if pct is None else f"{pct:+.0f}%" if abs(pct) >= 10 else f"{pct:+.1f}%"
    if t.significant:
        return f"throughput {rel} ({t.a:.1f} to {t.b:.1f} fps)"
    return (f"throughput {t.a:.1f} to {t.b:.1f} fps ({rel}, within the noise of "
            f"±{t.threshold:.2g} fps)")


def _largest_change(c: Comparison, section: str, key: str) -> tuple[Row, Change, str] | None:
    """The row of `section` whose `key` changed most beyond the noise, its change, and whether
    it rose or fell."""
    rows = [r for r in c.section(section) if r.a and r.b and key in r.changes
            and r.changes[key].significant]
    r = max(rows, key=lambda r: abs(r.changes[key].delta or 0.0), default=None)
    if r is None:
        return None
    ch = r.changes[key]
    return r, ch, "rose" if (ch.delta or 0) > 0 else "fell"


def _moved(c: Comparison, section: str, key: str,
           say: Callable[[Row, Change, str], str]) -> str | None:
    found = _largest_change(c, section, key)
    return None if found is None else say(*found)


def _drops_part(c: Comparison) -> str | None:
    """The element whose share of dropped buffers changed most beyond the noise."""
    return _moved(c, "drops", "dropped_pct", lambda r, ch, verb: (
        f"drops at {r.a} {verb} from {ch.a:.0f}% to {ch.b:.0f}% of its buffers"))


def _latency_part(c: Comparison) -> str | None:
    """The source-to-sink latency that changed most beyond the noise."""
    return _moved(c, "path", "latency_ms", lambda r, ch, verb: (
        f"latency {r.a} {verb} from {_ms(ch.a)} to {_ms(ch.b)} ms"))


def _gpu_part(c: Comparison) -> str | None:
    for r in c.section("gpu"):
        ch = r.changes.get("gpu_busy_pct")
        if ch is not None and ch.significant and ch.a is not None and ch.b is not None:
            verb = "rose" if ch.b > ch.a else "fell"
            return f"GPU {r.a} busy {verb} from {ch.a:.0f}% to {ch.b:.0f}%"
    return None


def _nvtx_part(c: Comparison) -> str | None:
    """The NVTX range whose GPU time changed most: per frame when both runs count frames,
    else as a share of all GPU time (totals depend on how long each run was)."""
    for metric, what, unit in (("gpu_ms_per_frame", "GPU time per frame", " ms"),
                               ("gpu_share_pct", "share of GPU time", "%")):
        said = _moved(c, "nvtx", metric, lambda r, ch, verb, what=what, unit=unit: (
            f"NVTX range {r.a}'s {what} {verb} from {_ms(ch.a)}{unit} to {_ms(ch.b)}{unit}"))
        if said is not None:
            return said
    return None


def _shape_part(c: Comparison) -> str | None:
    m = c.matching
    out = []
    for side, names in (("A", m.only_a), ("B", m.only_b)):
        if names:
            shown = ", ".join(names[:MAX_NAMES]) + (", ..." if len(names) > MAX_NAMES else "")
            out.append(f"{len(names)} element{'s' if len(names) > 1 else ''} only in {side} "
                       f"({shown})")
    return " and ".join(out) if out else None


def _ms(x: float | None) -> str:
    if x is None:
        return "?"
    return f"{x:.3g}" if x < 100 else f"{x:.0f}"
