"""verdict.json's ``gpus``: one row per device of the GPU timeline."""

from __future__ import annotations

from typing import Any

from pipesight.metrics import Metrics


def gpu_rows(m: Metrics) -> list[dict[str, Any]]:
    if m.gpu is None:
        return []
    out = []
    for u in m.gpu.devices:
        spacing, cv = u.spacing()
        out.append({
            "device": u.device,
            "name": u.name,
            "busy_fraction": round(u.busy_fraction, 4),
            "span_ms": round(u.span_ns / 1e6, 3),
            "idle_gaps": u.gap_count,
            "idle_ms": round(u.gap_ns / 1e6, 3),
            "gap_threshold_ms": round(u.gap_min_ns / 1e6, 3),
            "gap_spacing_ms": None if spacing is None else round(spacing / 1e6, 3),
            "gap_spacing_cv": None if cv is None else round(cv, 3),
            "kernels": u.kernels,
            "copies": u.copies,
            "memsets": u.memsets,
            "graph_ops": u.graph_ops,
            "busy_by_chunk": [round(float(x), 3) for x in u.chunk_busy],
        })
    return out
