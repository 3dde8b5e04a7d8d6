"""The files pipesight's tracer writes (tracer/pipesight_tracer.c), as numpy sees them.

events-PID.bin: a 64-byte header, then fixed-size records (format 3: 64 bytes, each with a
sequence number written last; format 2: 56 bytes). defs-PID.jsonl: one JSON object a line.
"""

from __future__ import annotations

import numpy as np

MAGIC = 0x31545350
HEADER_SIZE = 64
_FIELDS = [
    ("kind", "u1"),
    ("probe", "u1"),
    ("flags", "<u2"),
    ("tid", "<u4"),
    ("ts", "<u8"),
    ("cpu", "<u8"),
    ("pad", "<u4"),
    ("peer", "<u4"),
    ("size", "<u4"),
    ("count", "<i4"),
    ("pts", "<u8"),
    ("vcsw", "<u4"),
    ("ivcsw", "<u4"),
]
RECORD_V2 = np.dtype(_FIELDS)
RECORD = np.dtype([*_FIELDS, ("seq", "<u8")])  # format 3, what the tracer writes now
FORMATS = {2: RECORD_V2, 3: RECORD}
HEADER = np.dtype(
    [
        ("magic", "<u4"),
        ("version", "<u4"),
        ("record_size", "<u4"),
        ("header_size", "<u4"),
        ("used", "<u8"),
        ("capacity", "<u8"),
        ("pid", "<u4"),
        ("dropped", "<u4"),
        ("flags", "<u4"),  # 0 in files written before ring mode
    ]
)
RING_FLAG = 1  # flags bit: a ring that `pipesight watch` consumes (tracer: PS_FLAG_RING)
PUSH_PRE, PUSH_POST, LIST_PRE, LIST_POST, PULL_PRE, PULL_POST = 1, 2, 3, 4, 5, 6
PROBE_PRE, PROBE_POST = 7, 8
PRE_KINDS = (PUSH_PRE, LIST_PRE, PULL_PRE, PROBE_PRE)
POST_KINDS = (PUSH_POST, LIST_POST, PULL_POST, PROBE_POST)
NONE_U64 = np.uint64(0xFFFFFFFFFFFFFFFF)
