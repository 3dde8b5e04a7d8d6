"""Sampled counters: named series of (time, value) with a unit and the sampler and device
they come from (NVML, tegrastats, DeepStream's own FPS and latency prints).

One ``Series`` per counter and device, columnar numpy arrays. Time is seconds since the
collection's origin (``Samples.origin``): the run's start for a run directory, the first
sample for a file. ``Samples.origin_ns`` says where that origin lies on the tracer clock when
the samples could be aligned with a trace, so that a timeline can place them beside it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# what a series' time axis is
SECONDS = "seconds"  # seconds since Samples.origin
INDEX = "index"  # the sample's number: the input printed no time (t = 0, 1, 2, ...)


@dataclass
class Series:
    name: str  # e.g. "NVDEC.load", "gpu.dec_util", "fps", "component_latency"
    unit: str  # "%", "MHz", "mW", "C", "MB", "fps", "ms", "count"
    source: str  # the sampler or print it comes from: "nvml", "tegrastats", "deepstream-perf", ...
    device: str = ""  # what it measures: "GPU 0", "jetson", "stream 0", a component's name
    t: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    v: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))  # NaN: not measured
    clock: str = SECONDS
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.v.shape[0])

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.source, self.device, self.name)

    def between(self, t0: float | None, t1: float | None) -> Series:
        """The samples with t0 <= t <= t1 (either bound may be None: open)."""
        sel = np.ones(len(self), bool)
        if t0 is not None:
            sel &= self.t >= t0
        if t1 is not None:
            sel &= self.t <= t1
        return Series(self.name, self.unit, self.source, self.device, self.t[sel], self.v[sel],
                      self.clock, self.meta)


@dataclass
class Samples:
    series: list[Series] = field(default_factory=list)
    origin: str = "the first sample"  # what t = 0 is, said in reports
    origin_ns: int | None = None  # tracer ns of t = 0, when aligned with a trace
    # per source: what the sampler or file said about itself (devices, engine counts, interval)
    meta: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what was skipped or could not be read

    def __len__(self) -> int:
        return len(self.series)

    def __iter__(self) -> Iterator[Series]:
        return iter(self.series)

    def add(self, s: Series) -> None:
        if len(s):
            self.series.append(s)

    def extend(self, other: Samples) -> None:
        self.series.extend(other.series)
        for k, v in other.meta.items():
            self.meta.setdefault(k, {}).update(v)
        self.notes.extend(other.notes)

    def sources(self) -> list[str]:
        return sorted({s.source for s in self.series})

    def find(self, name: str | None = None, source: str | None = None,
             device: str | None = None) -> list[Series]:
        return [s for s in self.series
                if (name is None or s.name == name) and (source is None or s.source == source)
                and (device is None or s.device == device)]

    def get(self, name: str, source: str | None = None, device: str | None = None) -> Series | None:
        found = self.find(name, source, device)
        return found[0] if found else None
