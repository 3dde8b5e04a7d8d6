"""What a lab run is asked to do and what it reports, for both engines (Python threads and
GStreamer elements), and how the reported FPS is measured from the sink's log."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

ENGINES = ("threads", "gst")


@dataclass
class LabConfig:
    mode: str = "tuned"
    streams: int = 8
    batch: int | None = None  # default: one frame per stream
    duration: float = 10.0
    warmup: float = 3.0
    model: str = "yolo-x"
    backend: str = "cudagraph"
    precision: str = "fp16"
    source: str = "nvdec"  # threads engine
    device: str = "cuda"
    frame_width: int | None = None  # threads engine, gst / synthetic sources only
    frame_height: int | None = None
    out_width: int = 1280
    out_height: int = 720
    queue_size: int = 2
    upload: str = "pinned"  # gst engine: frames to the device through pinned or pageable memory
    max_batches: int | None = None  # stop once this many batches reached the sink (tests)
    collect: bool = False  # keep every tiled picture (tests)
    nvtx: bool = True
    profiler_window: bool = False  # cudaProfilerStart/Stop around the measured window
    fuse_prep: bool = True  # compile colour conversion and scaling on CUDA (tests may skip it)
    graph_post: bool = True  # tuned: NMS, tiling and drawing as CUDA graphs on CUDA
    engine: str = "threads"
    decoder: str | None = None  # gst engine: the H.264 decoder element (None: the best found)

    @property
    def batch_size(self) -> int:
        return self.batch or self.streams


@dataclass
class LabResult:
    mode: str
    streams: int
    batch: int
    backend: str
    source: str
    device: str
    fps: float | None
    window_s: float
    frames: int
    pictures: int
    boxes_per_frame: dict[str, float]
    outputs: list[np.ndarray] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    engine: str = "threads"
    model: str = ""
    precision: str = ""
    input_size: int = 0
    batches: int = 0
    fps_counts: str = "frames (batches x batch size) through the sink"

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "outputs"}


def measured_fps(log: list[tuple[float, int]], start: float,
                 end: float | None = None) -> tuple[float | None, float]:
    """(frames per second, window in seconds) from the sink's log of (time, frames so far),
    over the batches that arrived from ``start`` to ``end``: from the first such arrival to the
    last, so the count and the window cover the same batches."""
    inside = [x for x in log if x[0] >= start and (end is None or x[0] <= end)]
    if len(inside) < 2:
        return None, 0.0
    (ta, na), (tb, nb) = inside[0], inside[-1]
    window = tb - ta
    return ((nb - na) / window if window > 0 else None), window


def box_stats(counts: list[int]) -> dict[str, float]:
    nb = np.asarray(counts, dtype=np.float64)
    if not nb.size:
        return {}
    return {"mean": float(nb.mean()), "min": float(nb.min()), "max": float(nb.max())}
