"""Latency tracer records (GStreamer's core latency tracer), as columns per key."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class LatencySeries:
    """Samples of several keys: ``keys[code[i]]`` measured ``value[i]`` ns at ``ts[i]``."""

    keys: list[str] = field(default_factory=list)
    code: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    ts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    value: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))

    def __len__(self) -> int:
        return int(self.value.shape[0])

    def extend(self, keys: list[str], code: np.ndarray, ts: np.ndarray, value: np.ndarray) -> None:
        index = {k: i for i, k in enumerate(self.keys)}
        remap = np.empty(len(keys), np.int32)
        for j, k in enumerate(keys):
            if k not in index:
                index[k] = len(self.keys)
                self.keys.append(k)
            remap[j] = index[k]
        self.code = np.concatenate([self.code, remap[code] if len(keys) else code])
        self.ts = np.concatenate([self.ts, ts.astype(np.int64)])
        self.value = np.concatenate([self.value, value.astype(np.int64)])

    def of(self, key: str) -> np.ndarray:
        try:
            i = self.keys.index(key)
        except ValueError:
            return np.zeros(0, np.int64)
        return self.value[self.code == i]


@dataclass
class LatencyRecords:
    # pipeline latency, keyed "src-element-id.src-element.src|sink-element-id.sink-element.sink"
    pipeline: LatencySeries = field(default_factory=LatencySeries)
    # element latency, keyed "element-id.element.src"
    element: LatencySeries = field(default_factory=LatencySeries)
    # element reported latency: (element-id.element, ts, min, max, live)
    reported: list[tuple[str, int, int, int, bool]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(len(self.pipeline) or len(self.element) or self.reported)

    @staticmethod
    def element_name(key: str) -> str:
        """'0x55d6.jpegenc0.src' -> 'jpegenc0' (names may contain dots: keep the middle)."""
        parts = key.split(".")
        if len(parts) >= 3 and parts[0].startswith("0x"):
            return ".".join(parts[1:-1])
        return key
