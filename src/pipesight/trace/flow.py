"""Flow: one row per buffer movement across a pad (push, push of a list, or pull).

Columnar numpy arrays, not one Python object per buffer: a long run has millions of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NO_TS = np.int64(-1)

PUSH = 0
PULL = 1
PROBE = 2  # Frames only: time inside the application's pad probes


@dataclass
class Flow:
    ts: np.ndarray  # int64 ns, tracer time
    thread: np.ndarray  # int32 index into Trace.threads
    pad: np.ndarray  # int32 pad id that pushed (src pad) or pulled (sink pad)
    peer: np.ndarray  # int32 peer pad id, 0 if unknown
    src_element: np.ndarray  # int32 element the buffer leaves, -1 if it only forwards
    dst_element: np.ndarray  # int32 element the buffer enters, -1 if it only forwards
    size: np.ndarray  # int64 bytes
    count: np.ndarray  # int32 buffers (lists count each buffer)
    pts: np.ndarray  # int64 ns, -1 if none
    duration: np.ndarray  # int64 ns, -1 if none
    flags: np.ndarray  # uint32 GstBufferFlags
    mode: np.ndarray  # int8 PUSH or PULL

    def __len__(self) -> int:
        return int(self.ts.shape[0])

    @classmethod
    def empty(cls) -> Flow:
        i64 = np.zeros(0, np.int64)
        i32 = np.zeros(0, np.int32)
        return cls(
            ts=i64,
            thread=i32,
            pad=i32,
            peer=i32,
            src_element=i32,
            dst_element=i32,
            size=i64,
            count=i32,
            pts=i64,
            duration=i64,
            flags=np.zeros(0, np.uint32),
            mode=np.zeros(0, np.int8),
        )

    def take(self, mask: np.ndarray) -> Flow:
        return Flow(**{k: getattr(self, k)[mask] for k in self.__dataclass_fields__})
