"""The GPU timeline: what the GPU ran and what the CPU threads did around it.

Filled from Nsight Systems exports. Columnar numpy arrays, not one object per event: a long run
holds millions of kernels and API calls. Times are nanoseconds on the export's own clock (from
the start of the nsys session); ``clock_origin_ns`` says where that clock started when the
export tells it. Names (kernels, API calls, NVTX texts, thread names) live once in ``strings``;
columns hold indices into it.

Threads are identified by ``(pid, tid)``, the OS process and thread ids that nsys packs into its
``globalTid`` (tid in the low 24 bits, pid in the next 24); ``thread_key`` packs them the same
way into one integer where a column of threads is wanted.

The big tables (operations and API calls: millions of rows in a long run) need not be in memory:
a timeline read for analysis keeps them in the export (``source``) and loads one only when it is
asked for; measurements stream them in chunks instead (``GpuSource.session``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

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
    "payload": np.int64,
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
    payload: np.ndarray  # an unsigned 64-bit payload where the mark has one (below 2**63), else -1


TID_BITS = 24
TID_MASK = (1 << TID_BITS) - 1


def thread_key(pid: Any, tid: Any) -> Any:
    """One integer per thread: pid in bits 24..47, tid below (-1 where the pid is unknown)."""
    pid = np.asarray(pid, np.int64)
    return np.where(pid >= 0, (pid << TID_BITS) | (np.asarray(tid, np.int64) & TID_MASK), -1)


def split_thread_key(k: Any) -> tuple[Any, Any]:
    k = np.asarray(k, np.int64)
    return np.where(k >= 0, k >> TID_BITS, -1), np.where(k >= 0, k & TID_MASK, -1)


@dataclass
class OpChunk:
    """Some GPU operations of one kind (rows with valid times, in file order): what a one-pass
    measurement reads. The ``call_*`` columns are filled by the measurement, which joins each
    operation to the CUDA API call that launched it."""

    kind: int
    start: np.ndarray
    end: np.ndarray
    device: np.ndarray
    stream: np.ndarray
    graph: np.ndarray  # bool: launched from a CUDA graph (or a whole graph)
    pid: np.ndarray
    correlation: np.ndarray  # -1 where none
    # copies only: what was copied
    bytes: np.ndarray | None = None
    copy_kind: np.ndarray | None = None
    src_kind: np.ndarray | None = None
    dst_kind: np.ndarray | None = None
    # the launching call: thread_key (-1 when none was found), start, duration, and for
    # copies its place in the stream of calls (identifies it) and name
    call_thread: np.ndarray | None = None
    call_start: np.ndarray | None = None
    call_dur: np.ndarray | None = None
    call_seq: np.ndarray | None = None
    call_name: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.start.shape[0])


@dataclass
class CallChunk:
    """Some API calls (rows with valid times, in file order)."""

    start: np.ndarray
    end: np.ndarray
    thread: np.ndarray  # thread_key
    name: np.ndarray  # index into strings
    correlation: np.ndarray  # CUDA calls: what their operations carry; -1 elsewhere

    def __len__(self) -> int:
        return int(self.start.shape[0])


class RowStream(Protocol):
    """A table read block after block, in file order."""

    def chunks(self) -> Iterator[Any]: ...

    def chunk_lows(self) -> list[int | None]:
        """The earliest start in each block ``chunks`` gives (None for a block without rows),
        asked of the export without reading the blocks."""
        ...


class OpStream(RowStream, Protocol):
    kind: int

    def chunks(self) -> Iterator[OpChunk]: ...


class GpuSession(Protocol):
    """One open view of an export, for streaming its big tables."""

    def op_streams(self) -> list[OpStream]: ...

    def call_stream(self, group: str) -> RowStream:
        """``group``: runtime, osrt, video or gil; chunks are CallChunks."""
        ...


class GpuSource(Protocol):
    """Where a timeline's big tables live."""

    label: str

    def load(self, table: str, g: GpuTimeline) -> Any:
        """The whole table (ops, runtime, osrt, video, gil), as a GpuOps or Calls."""
        ...

    def session(self, g: GpuTimeline) -> AbstractContextManager[GpuSession]: ...


def _big(name: str, empty: Any) -> property:
    def get(self: GpuTimeline) -> Any:
        t = self.loaded.get(name)
        if t is None:
            t = self.source.load(name, self) if self.source is not None else empty()
            self.loaded[name] = t
        return t

    def put(self: GpuTimeline, v: Any) -> None:
        self.loaded[name] = v

    return property(get, put)


@dataclass
class GpuTimeline:
    strings: list[str] = field(default_factory=list)
    sync: SyncOps = field(default_factory=SyncOps.empty)
    nvtx: NvtxRanges = field(default_factory=NvtxRanges.empty)
    marks: NvtxMarks = field(default_factory=NvtxMarks.empty)
    # profiler overhead (PROFILER_OVERHEAD): nsys counts some of it as GPU time
    overhead: Calls = field(default_factory=Calls.empty)
    thread_names: dict[tuple[int, int], str] = field(default_factory=dict)
    process_names: dict[int, str] = field(default_factory=dict)
    device_names: dict[int, str] = field(default_factory=dict)
    domains: dict[int, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)  # exporter version, schema, ...
    clock_origin_ns: int | None = None  # system clock (ns) at the session's time 0
    # the session's start as the export gives it: UTC epoch ns (TARGET_INFO_SESSION_START_TIME)
    # and ANALYSIS_DETAILS.startTime (ns on a host clock, in exports that have it)
    session_utc_ns: int | None = None
    analysis_start_ns: int | None = None
    hostname: str | None = None
    tables: list[str] = field(default_factory=list)  # what the export held (for reports)
    source: GpuSource | None = None  # where the big tables below are, when not loaded
    op_count: int = 0  # operations with valid times (known without loading them)
    call_count: int = 0  # CUDA API calls with valid times
    loaded: dict[str, Any] = field(default_factory=dict, repr=False)
    # measurements already made on this timeline (streaming an export twice costs time)
    measured: dict[Any, Any] = field(default_factory=dict, repr=False)

    # the big tables: loaded whole on first use (measurements stream them instead)
    # (properties, not fields: GpuOps, then Calls for CUDA runtime/driver API calls, OS runtime
    # calls, NVDEC/NVENC/JPEG API calls, and waits for the Python GIL)
    ops = _big("ops", GpuOps.empty)
    runtime = _big("runtime", Calls.empty)
    osrt = _big("osrt", Calls.empty)
    video = _big("video", Calls.empty)
    gil = _big("gil", Calls.empty)

    def __bool__(self) -> bool:
        return self.op_count > 0 or self.call_count > 0 or len(self.nvtx) > 0

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
