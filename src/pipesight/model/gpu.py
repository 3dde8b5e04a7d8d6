"""The GPU timeline: what the GPU ran and what the CPU threads did around it.

Filled from Nsight Systems exports. Columnar numpy arrays, not one object per event: a long run
holds millions of kernels and API calls. Times are nanoseconds on the export's own clock (from
the start of the nsys session); ``clock_origin_ns`` says where that clock started when the
export tells it. Names (kernels, API calls, NVTX texts, thread names) live once in ``strings``;
columns hold indices into it.

Threads are identified by ``(pid, tid)``, the OS process and thread ids that nsys packs into its
``globalTid`` (tid in the low 24 bits, pid in the next 24).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

# GpuOps.kind
KERNEL, MEMCPY, MEMSET, GRAPH = 0, 1, 2, 3
OP_KINDS = {KERNEL: "kernel", MEMCPY: "memcpy", MEMSET: "memset", GRAPH: "graph"}

# CUDA memcpy kinds (CUPTI_ACTIVITY_MEMCPY_KIND / ENUM_CUDA_MEMCPY_OPER)
COPY_HTOD, COPY_DTOH, COPY_DTOD, COPY_PTOP = 1, 2, 8, 10
# CUDA memory kinds of a copy's ends (CUPTI_ACTIVITY_MEMORY_KIND / ENUM_CUDA_MEM_KIND)
MEM_PAGEABLE, MEM_PINNED, MEM_DEVICE = 0, 1, 2

# NvtxRanges.kind
PUSH_POP, START_END = 0, 1

# CUPTI synchronization types (CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE / ENUM_CUPTI_SYNC_TYPE)
SYNC_TYPES = {0: "unknown", 1: "event synchronize", 2: "stream wait event",
              3: "stream synchronize", 4: "context synchronize"}


class _Columns:
    """A table of equal-length numpy columns."""

    def __len__(self) -> int:
        return int(getattr(self, fields(self)[0].name).shape[0])  # type: ignore[arg-type]

    def take(self, sel: np.ndarray) -> Any:
        return type(self)(**{f.name: getattr(self, f.name)[sel] for f in fields(self)})  # type: ignore[arg-type]

    @classmethod
    def empty(cls) -> Any:
        return cls(**{f.name: np.zeros(0, _DTYPES[f.name]) for f in fields(cls)})  # type: ignore[arg-type]


_DTYPES: dict[str, Any] = {
    "start": np.int64, "end": np.int64, "ts": np.int64, "pid": np.int64, "tid": np.int64,
    "end_tid": np.int64, "device": np.int32, "stream": np.int32,
    "correlation": np.int64, "kind": np.int8, "name": np.int32, "domain": np.int32,
    "bytes": np.int64, "copy_kind": np.int8, "src_kind": np.int8, "dst_kind": np.int8,
    "graph_node": np.int64, "graph": np.int64, "sync_type": np.int8, "category": np.int32,
}


@dataclass
class GpuOps(_Columns):
    """What ran on the GPU: kernels, copies, memsets (and whole graphs where nsys traced
    graphs as one unit)."""

    start: np.ndarray
    end: np.ndarray
    device: np.ndarray
    stream: np.ndarray
    pid: np.ndarray
    correlation: np.ndarray  # links the op to the API call that launched it (same pid)
    kind: np.ndarray  # KERNEL, MEMCPY, MEMSET, GRAPH
    name: np.ndarray  # kernel's demangled name; -1 for copies and memsets
    bytes: np.ndarray  # copies and memsets; -1 for kernels
    copy_kind: np.ndarray  # COPY_* for copies; -1 otherwise
    src_kind: np.ndarray  # MEM_* for copies; -1 otherwise
    dst_kind: np.ndarray
    graph_node: np.ndarray  # CUDA graph node id, -1 when not launched from a graph
    graph: np.ndarray  # CUDA graph id where the export has it, -1 otherwise


@dataclass
class Calls(_Columns):
    """A thread inside an API call: CUDA runtime/driver, OS runtime, video codec, GIL waits."""

    start: np.ndarray
    end: np.ndarray
    pid: np.ndarray
    tid: np.ndarray
    name: np.ndarray
    correlation: np.ndarray  # CUDA calls: the ops they launched; -1 elsewhere


@dataclass
class SyncOps(_Columns):
    """CUDA synchronization seen by CUPTI (the wait, on the GPU side of the API)."""

    start: np.ndarray
    end: np.ndarray
    device: np.ndarray
    stream: np.ndarray
    pid: np.ndarray
    correlation: np.ndarray  # the API call that waited
    sync_type: np.ndarray  # key of SYNC_TYPES


@dataclass
class NvtxRanges(_Columns):
    start: np.ndarray
    end: np.ndarray
    pid: np.ndarray
    tid: np.ndarray  # the thread that opened the range
    end_tid: np.ndarray  # the thread that closed it (start/end ranges may end elsewhere)
    name: np.ndarray
    domain: np.ndarray  # -1: the default domain
    category: np.ndarray
    kind: np.ndarray  # PUSH_POP or START_END


@dataclass
class NvtxMarks(_Columns):
    ts: np.ndarray
    pid: np.ndarray
    tid: np.ndarray
    name: np.ndarray
    domain: np.ndarray


@dataclass
class GpuTimeline:
    strings: list[str] = field(default_factory=list)
    ops: GpuOps = field(default_factory=GpuOps.empty)
    runtime: Calls = field(default_factory=Calls.empty)  # CUDA runtime (and driver) API
    sync: SyncOps = field(default_factory=SyncOps.empty)
    nvtx: NvtxRanges = field(default_factory=NvtxRanges.empty)
    marks: NvtxMarks = field(default_factory=NvtxMarks.empty)
    osrt: Calls = field(default_factory=Calls.empty)  # OS runtime (libc) calls
    video: Calls = field(default_factory=Calls.empty)  # NVDEC/NVENC/JPEG API calls
    gil: Calls = field(default_factory=Calls.empty)  # waits for the Python GIL, if traced
    # profiler overhead (PROFILER_OVERHEAD): nsys counts some of it as GPU time
    overhead: Calls = field(default_factory=Calls.empty)
    thread_names: dict[tuple[int, int], str] = field(default_factory=dict)
    process_names: dict[int, str] = field(default_factory=dict)
    device_names: dict[int, str] = field(default_factory=dict)
    domains: dict[int, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)  # exporter version, schema, ...
    clock_origin_ns: int | None = None  # system clock (ns) at the session's time 0
    tables: list[str] = field(default_factory=list)  # what the export held (for reports)

    def __bool__(self) -> bool:
        return len(self.ops) > 0 or len(self.runtime) > 0 or len(self.nvtx) > 0

    def string(self, i: int) -> str:
        return self.strings[i] if 0 <= i < len(self.strings) else "?"

    def intern(self, s: str) -> int:
        """Index of ``s`` in strings, adding it when new (for names made after reading)."""
        idx = getattr(self, "_index", None)
        if idx is None:
            idx = {v: k for k, v in enumerate(self.strings)}
            self._index = idx
        i = idx.get(s)
        if i is None:
            i = len(self.strings)
            self.strings.append(s)
            idx[s] = i
        return i

    def thread_label(self, pid: int, tid: int) -> str:
        name = self.thread_names.get((pid, tid))
        return f"{name} ({tid})" if name else f"tid {tid}"

    @property
    def devices(self) -> list[int]:
        return sorted(int(d) for d in np.unique(self.ops.device))

    @property
    def version(self) -> str | None:
        return self.meta.get("EXPORT_PRODUCT_VERSION")
