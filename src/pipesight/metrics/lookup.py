"""Look-ups on a trace and its metrics that tables and analyses share: names, threads, the
queues around a thread, a thread's kernel CPU, properties."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics import Metrics
from pipesight.metrics.activity import ElementThreadTime
from pipesight.metrics.throughput import nominal_fps
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

    def handover_words(self, eids: list[int], where: str) -> str:
        """Hand-over elements in words: "the queue after it (queue1)" where each has a queue's
        limits, else what it does, "the element after it that takes its buffers to another
        thread (mp4mux0)": a muxer or an aggregator is no queue."""
        names = ", ".join(self.name(e) for e in eids)
        if eids and all("max-size-buffers" in self._props(e) for e in eids):
            return f"the queue{'s' if len(eids) > 1 else ''} {where} it ({names})"
        return (f"the element{'s' if len(eids) > 1 else ''} {where} it that "
                f"{'hand' if len(eids) > 1 else 'hands'} buffers to another thread ({names})")

    def _props(self, eid: int) -> dict:
        e = self.trace.topology.element(eid)
        return e.props if e is not None else {}

    def prop(self, eid: int, key: str) -> object:
        e = self.trace.topology.element(eid)
        return None if e is None else e.props.get(key)
