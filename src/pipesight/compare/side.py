"""One side of a comparison: its verdict (and its repeats'), its element graph, and, when it
was analysed from a trace, the trace, metrics and Verdict behind it (workflows/sides loads it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipesight.compare.graph import ElementGraph
from pipesight.findings import Verdict
from pipesight.metrics import Metrics
from pipesight.trace import Trace


@dataclass
class Side:
    label: str  # the path as given
    kind: str  # "run directory", "repeated run", "verdict.json", or the reader's format name
    verdict: dict[str, Any]  # Verdict.to_dict() form; for repeats, the representative run's
    runs: list[dict[str, Any]]  # every run's verdict (one, or each repeat)
    graph: ElementGraph
    trace: Trace | None = None  # the representative's, when it was analysed from a trace
    metrics: Metrics | None = None
    analysed: Verdict | None = None  # the Verdict object behind ``verdict``, when analysed
    run_dir: Path | None = None  # where captured pipeline graphs may be found
    notes: list[str] = field(default_factory=list)

    @property
    def repeats(self) -> int:
        return len(self.runs) if self.kind == "repeated run" else 0
