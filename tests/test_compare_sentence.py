"""The parts of compare's sentence that name the largest change in a section: only changes
beyond the noise count, the largest wins, and the direction is said."""

from __future__ import annotations

from types import SimpleNamespace

from pipesight.compare.comparison import Change, Row
from pipesight.compare.summary import _drops_part, _latency_part, _nvtx_part


def ch(metric: str, a: float, b: float, significant: bool = True) -> Change:
    return Change(metric, a, b, 0.1, "margin", significant)


def rows_of(*rows: Row) -> SimpleNamespace:
    return SimpleNamespace(section=lambda name: [r for r in rows if r.section == name])


def test_the_largest_significant_change_is_named_with_its_direction():
    c = rows_of(
        Row("drops", "fakesink0", "fakesink0", {"dropped_pct": ch("dropped_pct", 40, 2)}),
        Row("drops", "queue0", "queue0", {"dropped_pct": ch("dropped_pct", 1, 9)}),
        Row("drops", "queue1", "queue1", {"dropped_pct": ch("dropped_pct", 0, 90, False)}),
        Row("path", "src → sink", "src → sink", {"latency_ms": ch("latency_ms", 5.0, 12.5)}),
    )
    assert _drops_part(c) == "drops at fakesink0 fell from 40% to 2% of its buffers"
    assert _latency_part(c).startswith("latency src → sink rose from 5")


def test_nvtx_prefers_time_per_frame_then_share():
    per_frame = Row("nvtx", "nvdsosd", "nvdsosd",
                    {"gpu_ms_per_frame": ch("gpu_ms_per_frame", 8.1, 0.9),
                     "gpu_share_pct": ch("gpu_share_pct", 30, 5)})
    assert _nvtx_part(rows_of(per_frame)).startswith(
        "NVTX range nvdsosd's GPU time per frame fell from 8.1")
    share_only = Row("nvtx", "infer", "infer", {"gpu_share_pct": ch("gpu_share_pct", 60, 90)})
    assert _nvtx_part(rows_of(share_only)).startswith(
        "NVTX range infer's share of GPU time rose from 60")
    noise = Row("nvtx", "infer", "infer", {"gpu_share_pct": ch("gpu_share_pct", 60, 61, False)})
    assert _nvtx_part(rows_of(noise)) is None
    assert _drops_part(rows_of(noise)) is None
