"""Everything measured on a GPU timeline, in one place for the analyses."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu import GAP_MIN_NS, DeviceUse, device_uses, scan
from pipesight.metrics.gpu_calls import scan_calls
from pipesight.metrics.gpu_threads import (
    CopyUse,
    DeviceThreads,
    RangeGpu,
    StreamUse,
    copy_use,
    device_threads,
    launcher_key,
    nvtx_gpu_time,
    stream_use,
)
from pipesight.trace.gpu import GpuTimeline


@dataclass
class GpuView:
    devices: list[DeviceUse]
    threads: dict[int, DeviceThreads] = field(default_factory=dict)  # per device
    copies: list[CopyUse] = field(default_factory=list)
    streams: list[StreamUse] = field(default_factory=list)
    nvtx: list[RangeGpu] = field(default_factory=list)
    gap_min_ns: int = GAP_MIN_NS

    def device(self, d: int) -> DeviceUse | None:
        return next((u for u in self.devices if u.device == d), None)


def compute_gpu(g: GpuTimeline | None, gap_min_ns: int = GAP_MIN_NS) -> GpuView | None:
    """Two streamed passes over the export: the operations (with their launching calls), then
    the API calls that matter to the idle gaps the first pass found."""
    if g is None or not g.op_count:
        return None
    ops = scan(g, gap_min_ns)
    devs = device_uses(g, gap_min_ns)
    gaps = iv.union(np.concatenate([u.gap_start for u in devs] or [np.zeros(0, np.int64)]),
                    np.concatenate([u.gap_end for u in devs] or [np.zeros(0, np.int64)]))
    launchers = {k for k in (launcher_key(ops, u.device) for u in devs) if k is not None}
    calls = scan_calls(g, ops, gaps, launchers)
    return GpuView(
        devices=devs,
        threads={u.device: device_threads(g, u, ops, calls) for u in devs},
        copies=copy_use(g, ops),
        streams=stream_use(g, ops),
        nvtx=nvtx_gpu_time(g, ops),
        gap_min_ns=gap_min_ns,
    )
