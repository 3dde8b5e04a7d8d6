"""Which of an element's own properties to change where it is the bottleneck (knobs.py's
table), with its value now: more threads where it runs on fewer than the cores it may use, a
faster setting, fewer inferences, a batch that matches the muxer's. analyses/predict.py puts
a rate on those it can predict."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipesight.analyses.context import Context
from pipesight.knobs import Knob, as_text, factory_of, knobs_for, thread_count


@dataclass
class Advice:
    knob: Knob
    element: int
    now: Any  # the value now (a DOT dump's silence: the default)
    to: str  # the value to set
    # "threads": threads now and after; "skip": buffers per inference after (interval + 1)
    before: int | None = None
    after: int | None = None

    def text(self, name: str) -> str:
        return (f"Set {self.knob.prop}={self.to} on {name} (now {as_text(self.now)}): "
                f"{self.knob.why}.")


def usable_cores(ctx: Context) -> int:
    model, cpu = ctx.metrics.stages, ctx.metrics.cpu
    if model is not None and model.cores_allowed:
        return int(model.cores_allowed)
    if cpu is not None and cpu.ncpu:
        return cpu.ncpu
    return int(ctx.trace.run.get("host", {}).get("cpus_allowed", 0) or 0)


def advise(ctx: Context, e: int) -> list[Advice]:
    el = ctx.trace.topology.element(e)
    if el is None:
        return []
    props, complete = ctx.element_props(e)
    cores = usable_cores(ctx)
    out = []
    for k in knobs_for(factory_of(el.factory, el.type)):
        if k.effect in ("sync", "qos"):
            continue  # a sink's clock and drops: the sink-sync and QoS findings advise them
        now = props.get(k.prop, None if complete else k.default)
        if now is None:
            continue
        a = _judge(ctx, k, e, now, cores)
        if a is not None:
            out.append(a)
    return out


def _judge(ctx: Context, k: Knob, e: int, now: Any, cores: int) -> Advice | None:
    if k.effect == "threads":
        before = thread_count(now, cores)
        to = k.to.format(cores=cores)
        after = thread_count(to, cores)
        if cores < 2 or before is None or after is None or after <= before:
            return None
        return Advice(k, e, now, to, before, after)
    if k.effect == "setting":
        return None if as_text(now) in k.fine else Advice(k, e, now, k.to)
    if k.effect == "skip":
        return Advice(k, e, now, k.to, 1, int(k.to) + 1) if as_text(now) == "0" else None
    return _batch(ctx, k, e, now)


def _batch(ctx: Context, k: Knob, e: int, now: Any) -> Advice | None:
    """A batch-size below the batch the muxer upstream forms, a muxer's batch-size unlike its
    number of sources."""
    if not isinstance(now, int) or isinstance(now, bool):
        return None
    mine = next((b for b in ctx.metrics.batchers if b.element == e), None)
    if k.to == "{sources}" and mine is not None and mine.sink_pads and now != mine.sink_pads:
        return Advice(k, e, now, str(mine.sink_pads))
    if k.to == "{batch}":
        up = [b for b in ctx.metrics.batchers if b.element != e and b.batch_size]
        formed = max((b.batch_size or 0 for b in up), default=0)
        if formed > now:
            return Advice(k, e, now, str(formed))
    return None


def words(ctx: Context, e: int, prop: str) -> str | None:
    """"Set PROP=VALUE on NAME (now V): why." for one of the element's knobs (a queue's limit
    doubled), or None where it has no such knob or is at its value already."""
    el = ctx.trace.topology.element(e)
    props, complete = ctx.element_props(e)
    k = next((k for k in knobs_for(factory_of(el.factory, el.type) if el else None)
              if k.prop == prop), None)
    if k is None:
        return None
    now = props.get(prop, None if complete else k.default)
    if now is None or as_text(now) in k.fine:
        return None
    to = k.to
    if to == "{more}":
        if not isinstance(now, int) or isinstance(now, bool) or now <= 0:
            return None
        to = str(2 * now)
    return Advice(k, e, now, to).text(ctx.name(e))
