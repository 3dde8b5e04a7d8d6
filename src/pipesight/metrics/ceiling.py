"""The pipeline against the model alone: is the ceiling comparable (same batch, precision,
input size), and what share of it the pipeline reaches (headroom)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipesight.metrics.batching import Batcher
from pipesight.trace import Trace
from pipesight.trace.ceiling import Ceiling

BATCH_EXACT = 0.05  # a measured frames-per-buffer this close to an integer is that batch
ABOVE = 1.1  # a pipeline this much faster than its ceiling says the ceiling was measured apart


@dataclass
class PipelineModel:
    """What the pipeline's inference runs at, as far as the trace tells."""

    batch: int | None = None
    batch_from: str = ""
    precision: str | None = None
    precision_from: str = ""
    input_size: tuple[int, int] | None = None
    size_from: str = ""


@dataclass
class CeilingCheck:
    ceiling: Ceiling
    pipeline: PipelineModel
    accepted: bool
    refused_because: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)  # what neither side could tell
    headroom: float | None = None  # throughput / ceiling, when accepted


def pipeline_model(trace: Trace, found: list[Batcher]) -> PipelineModel:
    pm = PipelineModel()
    for b in found:
        f = b.frames_per_buffer
        if f is not None and abs(f - round(f)) <= BATCH_EXACT * f:
            pm.batch, pm.batch_from = round(f), f"measured at {b.name} (frames in / buffers out)"
            break
    for e in trace.topology.leaf_elements():
        p = e.props
        if pm.batch is None and isinstance(p.get("batch-size"), int) and p["batch-size"] > 0:
            pm.batch, pm.batch_from = int(p["batch-size"]), f"{e.name}'s batch-size property"
        if pm.precision is None and isinstance(p.get("precision"), str):
            pm.precision, pm.precision_from = p["precision"].lower(), f"{e.name}'s property"
        w, h = p.get("width"), p.get("height")
        if pm.input_size is None and "precision" in p and isinstance(w, int) and \
                isinstance(h, int) and w > 0 and h > 0:
            pm.input_size, pm.size_from = (w, h), f"{e.name}'s width and height"
    return pm


def check(c: Ceiling, pm: PipelineModel, fps: float | None) -> CeilingCheck:
    out = CeilingCheck(c, pm, accepted=True)
    for what, theirs, ours, where in (
        ("batch", c.batch, pm.batch, pm.batch_from),
        ("precision", c.precision, pm.precision, pm.precision_from),
        ("input size", c.input_size, pm.input_size, pm.size_from),
    ):
        if theirs is None or ours is None:
            side = "the ceiling" if theirs is None else "the pipeline"
            out.unchecked.append(f"{what} (not known for {side})")
        elif theirs != ours:
            out.accepted = False
            out.refused_because.append(f"{what} {_fmt(theirs)} in the ceiling, {_fmt(ours)} in "
                                       f"the pipeline ({where})")
    if out.accepted and fps:
        if fps > ABOVE * c.fps:
            out.accepted = False
            out.refused_because.append(
                f"the pipeline runs faster ({fps:.1f} fps) than the ceiling: it was measured "
                "under other conditions (another machine or load, other settings)")
        else:
            out.headroom = fps / c.fps
    return out


def _fmt(v: object) -> str:
    if isinstance(v, tuple):
        return "x".join(str(x) for x in v)
    return str(v)
