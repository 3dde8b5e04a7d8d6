"""Look-ups on a trace and its metrics that tables and analyses share: names, threads, the
queues around a thread, a thread's kernel CPU, properties."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from pipesight.metrics import Metrics
from pipesight.metrics.activity import ElementThreadTime
from pipesight.metrics.throughput import nominal_fps, upstream_map
from pipesight.trace import Trace


@dataclass
class Lookup:
    trace: Trace
    metrics: Metrics

    def name(self, eid: int | None) -> str:
        return self.trace.topology.name(eid)

    def thread_label(self, t: int | None) -> str | None:
        if t is None or t >= len(self.trace.threads):
            return None
        return self.trace.threads[t].label()

    def thread_name(self, t: int | None) -> str | None:
        if t is None or t >= len(self.trace.threads):
            return None
        th = self.trace.threads[t]
        return th.name or th.label()

    def on_thread(self, t: int) -> list[ElementThreadTime]:
        act = self.metrics.activity
        if act is None:
            return []
        rows = [v for (e, th), v in act.per.items() if th == t]
        rows.sort(key=lambda v: -(v.wall_ns - v.wait_ns))
        return rows

    def window_ns(self) -> int:
        w = self.metrics.window
        return max(w.end - w.start, 1) if w else 1

    def fps(self) -> float | None:
        return self.metrics.throughput_fps

    def feeding_queue(self, t: int) -> int | None:
        """The handover element whose output thread is t (the queue in front of it)."""
        act = self.metrics.activity
        owner = self.trace.threads[t].owner if t < len(self.trace.threads) else None
        if act is not None and owner is not None and owner in self.metrics.queues:
            return owner
        return None

    def queues_fed_by(self, t: int) -> list[int]:
        """Handover elements that thread t pushes into (the queues after it)."""
        act = self.metrics.activity
        if act is None:
            return []
        return sorted(
            {e for (e, th), v in act.per.items() if th == t and v.role == "enqueue"}
            & set(self.metrics.queues)
        )

    def os_tid(self, t: int) -> int | None:
        return self.trace.threads[t].os_tid if t < len(self.trace.threads) else None

    def proc_cpu(self, t: int) -> float | None:
        cpu = self.metrics.cpu
        tid = self.os_tid(t)
        if cpu is None or tid is None or tid not in cpu.threads:
            return None
        return cpu.threads[tid].cpu_fraction

    def live_flag_share(self, eid: int) -> float | None:
        fl = self.trace.flow
        sel = fl.src_element == eid
        if not sel.any():
            return None
        return float(np.count_nonzero(fl.flags[sel] & (1 << 4)) / np.count_nonzero(sel))

    def nominal_fps(self, eid: int) -> float | None:
        return nominal_fps(self.trace, eid)

    @cached_property
    def _upstream(self) -> dict[int, set[int]]:
        return upstream_map(self.trace)

    def upstream_of(self, eid: int | None, direct: bool = False) -> set[int]:
        """The elements buffers reach ``eid`` from: those linked to it (``direct``) or all."""
        if eid is None:
            return set()
        up = self._upstream
        if direct:
            return set(up.get(eid, ()))
        seen: set[int] = set()
        stack = [eid]
        while stack:
            for p in up.get(stack.pop(), ()):
                if p not in seen:
                    seen.add(p)
                    stack.append(p)
        return seen

    def anchor(self, eid: int) -> tuple[int, int]:
        """Where an element sits in the flow: itself, or for the application's probes on a
        pad, the pad's element and the side (-1 before it: a sink pad; +1 after it)."""
        topo = self.trace.topology
        e = topo.element(eid)
        pad = topo.pads.get(e.probe_of) if e is not None and e.probe_of is not None else None
        if pad is None or pad.element is None:
            return eid, 0
        return pad.element, 1 if pad.direction == "src" else -1

    def is_upstream(self, x: int, eid: int) -> bool:
        """Whether buffers pass ``x`` before they reach ``eid`` (probes placed by their pad)."""
        (ax, sx), (ae, se) = self.anchor(x), self.anchor(eid)
        return sx < se if ax == ae else ax in self.upstream_of(ae)

    def handover_words(self, eids: list[int], where: str) -> str:
        """Hand-over elements in words: "the queue after it (queue1)" where each has a queue's
        limits, else what it does, "the element after it that takes its buffers to another
        thread (mp4mux0)": a muxer or an aggregator is no queue."""
        names = ", ".join(self.name(e) for e in eids)
        if eids and all("max-size-buffers" in self._props(e) for e in eids):
            return f"the queue{'s' if len(eids) > 1 else ''} {where} it ({names})"
        return (f"the element{'s' if len(eids) > 1 else ''} {where} it that "
                f"{'hand' if len(eids) > 1 else 'hands'} buffers to another thread ({names})")

    def element_props(self, eid: int) -> tuple[dict, bool]:
        """The element's properties and whether they are all of them: the tracer records
        every readable one; a pipeline graph GStreamer dumped records those not at their
        default (the last dump naming the element), where the trace has none."""
        props = self._props(eid)
        if props:
            return props, True
        name = self.name(eid)
        for _, g in reversed(self.trace.graphs):
            e = g.topology.by_name(name)
            if e is not None:
                return dict(e.props), False
        return {}, True

    def _props(self, eid: int) -> dict:
        e = self.trace.topology.element(eid)
        return e.props if e is not None else {}

    def prop(self, eid: int, key: str) -> object:
        e = self.trace.topology.element(eid)
        return None if e is None else e.props.get(key)
