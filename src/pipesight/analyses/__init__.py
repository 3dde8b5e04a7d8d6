"""One module per question. Each is a pure function of the trace and its metrics that
returns findings; none reads files or prints.

CANDIDATES name a possible bottleneck (their findings carry ``kind``); OBSERVATIONS report
what else is wrong or worth knowing. Further readers (GPU, hardware samples) add their own
functions to these lists.
"""

from __future__ import annotations

from collections.abc import Callable

from pipesight.analyses import (
    ceiling,
    clocks,
    cpu,
    drops,
    ds_latency,
    engines,
    gpu,
    gpu_work,
    latency,
    limits,
    live,
    messages,
    run_status,
    short_window,
    streams,
)
from pipesight.analyses.context import Context
from pipesight.findings import Finding

Analysis = Callable[[Context], list[Finding]]

CANDIDATES: list[Analysis] = [limits.analyze, live.analyze, cpu.analyze, gpu.analyze]
OBSERVATIONS: list[Analysis] = [
    run_status.analyze, short_window.analyze, messages.analyze, drops.analyze, latency.analyze,
    gpu_work.analyze,
]
# sampled counters: NVML, tegrastats, DeepStream's own FPS and latency prints
CANDIDATES += [engines.analyze]
OBSERVATIONS += [clocks.analyze, streams.analyze, ds_latency.analyze, ceiling.analyze]

__all__ = ["CANDIDATES", "OBSERVATIONS", "Analysis", "Context"]
