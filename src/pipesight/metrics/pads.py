"""Per-pad buffer statistics over the whole input, as gst-stats-1.0 reports them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.trace import Trace

FLAG_BITS = {
    "live": 1 << 4, "decode_only": 1 << 5, "discont": 1 << 6, "resync": 1 << 7,
    "corrupted": 1 << 8, "marker": 1 << 9, "header": 1 << 10, "gap": 1 << 11,
    "droppable": 1 << 12, "delta_unit": 1 << 13,
}


@dataclass
class PadStats:
    pad: int
    label: str  # element.pad
    direction: str
    buffers: int
    bytes: int
    min_size: int
    max_size: int
    mean_size: float
    first_ts: int
    last_ts: int
    flags: dict[str, int]


def pad_stats(trace: Trace) -> list[PadStats]:
    fl = trace.flow
    out: list[PadStats] = []
    if len(fl) == 0:
        return out
    order = np.argsort(fl.pad, kind="stable")
    pads = fl.pad[order]
    bounds = np.flatnonzero(np.diff(pads)) + 1
    starts = np.concatenate([[0], bounds])
    ends = np.concatenate([bounds, [pads.shape[0]]])
    for a, b in zip(starts, ends, strict=True):
        sel = order[a:b]
        pid = int(pads[a])
        sizes = fl.size[sel]
        counts = fl.count[sel]
        fl_bits = fl.flags[sel]
        p = trace.topology.pads.get(pid)
        out.append(
            PadStats(
                pad=pid,
                label=trace.topology.pad_label(pid),
                direction=p.direction if p else "unknown",
                buffers=int(counts.sum()),
                bytes=int(sizes.sum()),
                min_size=int(sizes.min()),
                max_size=int(sizes.max()),
                mean_size=float(sizes.sum() / max(int(counts.sum()), 1)),
                first_ts=int(fl.ts[sel].min()),
                last_ts=int(fl.ts[sel].max()),
                flags={k: int(np.count_nonzero(fl_bits & v)) for k, v in FLAG_BITS.items()},
            )
        )
    return out


@dataclass
class ElementCounts:
    element: int
    buffers_in: int
    buffers_out: int
    bytes_in: int
    bytes_out: int


def element_counts(trace: Trace, window=None) -> dict[int, ElementCounts]:
    """Buffers and bytes into and out of each processing element (bins excluded), over the
    whole input or a window: a push counts out for the pusher and in for the receiver, a pull
    the other way round (as gst-stats-1.0 counts them)."""
    fl = trace.flow
    sel = np.ones(len(fl), bool) if window is None else window.contains(fl.ts)
    out: dict[int, ElementCounts] = {}
    for col, is_in in ((fl.dst_element, True), (fl.src_element, False)):
        m = sel & (col >= 0)
        if not m.any():
            continue
        ids, inv = np.unique(col[m], return_inverse=True)
        bufs = np.bincount(inv, weights=fl.count[m])
        byts = np.bincount(inv, weights=fl.size[m])
        for i, e in enumerate(ids.tolist()):
            c = out.setdefault(e, ElementCounts(e, 0, 0, 0, 0))
            if is_in:
                c.buffers_in, c.bytes_in = int(bufs[i]), int(byts[i])
            else:
                c.buffers_out, c.bytes_out = int(bufs[i]), int(byts[i])
    return out
