"""GPU utilization per device: busy time, idle gaps, utilization over time.

Busy is the union of kernels, copies and memsets on a device, over the span from the start of
its first operation to the end of its last, as ``nsys analyze`` measures it: profiler overhead
that nsys counts as GPU time (its CUDA flush and stop overheads, inside the span of the process
that paid them) counts here too, since no change to the application removes it. A gap is a hole
between busy intervals; gaps of ``gap_min_ns`` or more are counted, timed and checked for a
period.

The numbers come from one streamed pass over the export's operations (``gpu_scan``); the
comparison functions at the end (nsys's own reports, per process) work on a loaded timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu_scan import DeviceScan, OpScan, scan_ops
from pipesight.trace.gpu import KERNEL, MEMCPY, MEMSET, GpuTimeline

# gaps counted as idle gaps (nsys analyze takes whole ms for gap=; 1 is its least)
GAP_MIN_NS = 1_000_000
CHUNKS = 20  # utilization over time: the span cut into this many equal chunks
# PROFILER_OVERHEAD rows nsys's GPU rules count as GPU time (its gpustats module)
NSYS_GPU_OVERHEAD = ("CUDA profiling data flush overhead", "CUDA profiling stop overhead",
                     "CUDA profiling overhead")


@dataclass
class DeviceUse:
    device: int
    name: str | None
    start: int  # first operation's start (ns, export clock)
    end: int  # last operation's end
    busy_ns: int
    kernels: int
    copies: int
    memsets: int
    kernel_ns: int  # summed kernel durations (concurrent kernels count twice)
    graph_ops: int  # operations launched from CUDA graphs (node-traced, or whole graphs)
    gap_min_ns: int
    gap_start: np.ndarray  # idle gaps of gap_min_ns or more
    gap_end: np.ndarray
    all_idle_ns: int  # every hole, also those under gap_min_ns
    chunk_edges: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    chunk_busy: np.ndarray = field(default_factory=lambda: np.zeros(0))  # fraction per chunk
    # per gap: thread_key of the thread whose CUDA call launched the operation that ended it
    gap_ender: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    @property
    def span_ns(self) -> int:
        return max(self.end - self.start, 0)

    @property
    def busy_fraction(self) -> float:
        return self.busy_ns / self.span_ns if self.span_ns else 0.0

    @property
    def gap_count(self) -> int:
        return int(self.gap_start.shape[0])

    @property
    def gap_ns(self) -> int:
        return int((self.gap_end - self.gap_start).sum())

    @property
    def gap_fraction(self) -> float:
        return self.gap_ns / self.span_ns if self.span_ns else 0.0

    def spacing(self) -> tuple[float | None, float | None]:
        """Median time from one idle gap to the next (ns), and how regular it is (coefficient
        of variation of the spacing; small is periodic). None with fewer than 3 gaps."""
        if self.gap_count < 3:
            return None, None
        d = np.diff(self.gap_start).astype(np.float64)
        mean = float(d.mean())
        return float(np.median(d)), (float(d.std()) / mean if mean > 0 else None)


def counted_overhead(g: GpuTimeline) -> list[int]:
    """Rows of g.overhead that nsys counts as GPU time (by name)."""
    if not len(g.overhead):
        return []
    names = [i for i, s in enumerate(g.strings) if s in NSYS_GPU_OVERHEAD]
    return np.flatnonzero(np.isin(g.overhead.name, names)).tolist() if names else []


def scan(g: GpuTimeline, gap_min_ns: int = GAP_MIN_NS) -> OpScan:
    """The one pass over g's operations (made once per threshold, then kept on g)."""
    key = ("ops", gap_min_ns)
    if key not in g.measured:
        g.measured[key] = scan_ops(g, counted_overhead(g), gap_min_ns)
    return g.measured[key]


def _use(g: GpuTimeline, d: DeviceScan, gap_min_ns: int, chunks: int) -> DeviceUse | None:
    if d.first is None or d.last_end is None:
        return None  # only whole graphs ran there: nothing counts as busy
    lo, hi = d.first, d.last_end
    n = max(1, min(chunks, (hi - lo) // max(gap_min_ns, 1)))
    edges = np.linspace(lo, hi, n + 1).round().astype(np.int64)
    width = np.maximum(np.diff(edges), 1)
    busy_in = np.zeros(n, np.int64)
    for s, e in d.spill.blocks():
        busy_in += iv.summed_overlap(s, e, edges)
    gs = np.concatenate(d.gap_s) if d.gap_s else np.zeros(0, np.int64)
    ge = np.concatenate(d.gap_e) if d.gap_e else np.zeros(0, np.int64)
    return DeviceUse(
        device=d.device, name=g.device_names.get(d.device), start=lo, end=hi, busy_ns=d.busy,
        kernels=d.kernels, copies=d.copies, memsets=d.memsets, kernel_ns=d.kernel_ns,
        graph_ops=d.graph_ops, gap_min_ns=gap_min_ns, gap_start=gs, gap_end=ge,
        all_idle_ns=d.idle, chunk_edges=edges, chunk_busy=busy_in / width,
        gap_ender=np.concatenate(d.gap_t) if d.gap_t else np.zeros(0, np.int64),
    )


def device_uses(g: GpuTimeline, gap_min_ns: int = GAP_MIN_NS, chunks: int = CHUNKS
                ) -> list[DeviceUse]:
    """Per device with operations (in device order), unless only whole graphs ran there."""
    key = ("use", gap_min_ns, chunks)
    if key not in g.measured:
        sc = scan(g, gap_min_ns)
        uses = (_use(g, sc.by_device[d], gap_min_ns, chunks) for d in sc.devices)
        g.measured[key] = [u for u in uses if u is not None]
    return g.measured[key]


def device_use(g: GpuTimeline, device: int, gap_min_ns: int = GAP_MIN_NS,
               chunks: int = CHUNKS) -> DeviceUse | None:
    return next((u for u in device_uses(g, gap_min_ns, chunks) if u.device == device), None)


# -- the same numbers as nsys's own reports, for comparison (on a loaded timeline) ------------

def op_intervals(g: GpuTimeline, device: int, pid: int) -> tuple[np.ndarray, np.ndarray]:
    """Raw [start, end) of what nsys counts as GPU time on a device for one process: kernels,
    copies and memsets, with the profiler overhead it paid inside its own span there."""
    o = g.ops
    sel = (o.device == device) & np.isin(o.kind, (KERNEL, MEMCPY, MEMSET)) & (o.pid == pid)
    starts, ends = [o.start[sel]], [o.end[sel]]
    rows = counted_overhead(g)
    if rows and sel.any():
        ov = g.overhead.take(np.asarray(rows))
        lo, hi = int(o.start[sel].min()), int(o.end[sel].max())
        inside = (ov.pid == pid) & (ov.start > lo) & (ov.end < hi)
        starts.append(ov.start[inside])
        ends.append(ov.end[inside])
    return np.concatenate(starts), np.concatenate(ends)


def nsys_gaps(g: GpuTimeline, device: int, pid: int, gap_ms: int) -> list[tuple[int, int]]:
    """(start, duration) of the gaps ``nsys analyze -r gpu_gaps:gap=GAP_MS`` reports for one
    process on one device: holes strictly longer than gap_ms."""
    s, e = op_intervals(g, device, pid)
    hs, he = iv.gaps(iv.union(s, e))
    keep = (he - hs) > gap_ms * 1_000_000
    return list(zip(hs[keep].tolist(), (he - hs)[keep].tolist(), strict=True))


def nsys_time_util(g: GpuTimeline, device: int, pid: int, chunks: int,
                   threshold: float) -> list[tuple[int, int, float]]:
    """(start, duration, in-use %) rows of ``nsys analyze -r
    gpu_time_util:chunks=N:threshold=T`` for one process on one device: the span cut into N
    chunks of ceil(span / N) ns, each chunk's summed operation time (concurrent operations add
    up), chunks under the threshold kept and runs of them merged with a duration-weighted
    mean."""
    s, e = op_intervals(g, device, pid)
    if s.shape[0] == 0:
        return []
    lo, hi = int(s.min()), int(e.max())
    size = -(-(hi - lo) // chunks)
    cs = lo + size * np.arange(chunks, dtype=np.int64)
    ce = np.minimum(cs + size, hi)
    live = cs < ce
    cs, ce = cs[live], ce[live]
    used = iv.summed_overlap(s, e, np.append(cs, ce[-1]))  # the chunks are contiguous
    pct = used / (ce - cs) * 100.0
    low = pct < threshold
    rows: list[tuple[int, int, float]] = []
    i = 0
    while i < low.shape[0]:
        if not low[i]:
            i += 1
            continue
        j = i
        while j + 1 < low.shape[0] and low[j + 1]:
            j += 1
        sizes = (ce[i:j + 1] - cs[i:j + 1]).astype(np.float64)
        mean = float((sizes * pct[i:j + 1]).sum() / sizes.sum())
        rows.append((int(cs[i]), int(ce[j] - cs[i]), round(mean, 1)))
        i = j + 1
    return rows


def kernel_summary(g: GpuTimeline) -> dict[str, dict[str, float]]:
    """Per kernel name: total, instances, mean, median, min, max (ns), as
    ``nsys stats -r cuda_gpu_kern_sum`` reports them."""
    o = g.ops
    k = o.kind == KERNEL
    names, dur = o.name[k], (o.end - o.start)[k]
    out: dict[str, dict[str, float]] = {}
    order = np.argsort(names, kind="stable")
    names, dur = names[order], dur[order]
    bounds = np.flatnonzero(np.diff(names)) + 1
    for chunk_n, chunk_d in zip(np.split(names, bounds), np.split(dur, bounds), strict=True):
        if chunk_n.shape[0] == 0:
            continue
        out[g.string(int(chunk_n[0]))] = {
            "total": int(chunk_d.sum()), "instances": int(chunk_d.shape[0]),
            "avg": float(chunk_d.mean()), "med": float(np.median(chunk_d)),
            "min": int(chunk_d.min()), "max": int(chunk_d.max()),
        }
    return out
