"""Everything measured on a GPU timeline, in one place for the analyses."""

from __future__ import annotations

from dataclasses import dataclass, field

from pipesight.metrics.gpu import GAP_MIN_NS, DeviceUse, device_use
from pipesight.metrics.gpu_threads import (
    CopyUse,
    DeviceThreads,
    RangeGpu,
    StreamUse,
    copy_use,
    device_threads,
    links,
    nvtx_gpu_time,
    stream_use,
)
from pipesight.model.gpu import GpuTimeline


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
    if g is None or not len(g.ops):
        return None
    devs = [u for u in (device_use(g, d, gap_min_ns) for d in g.devices) if u is not None]
    lk = links(g)
    return GpuView(
        devices=devs,
        threads={u.device: device_threads(g, u, lk) for u in devs},
        copies=copy_use(g, lk),
        streams=stream_use(g, lk),
        nvtx=nvtx_gpu_time(g, lk),
        gap_min_ns=gap_min_ns,
    )
