"""Builds small Nsight Systems-shaped SQLite exports for tests, from a simulated pipeline.

Not a stand-in for real exports (the corpus and tests/fixtures/nsys are those): a way to put a
known timing relationship in front of the analyses. The table and column names follow a
2025 export (nsys 2025.x, schema 3.x); times are nanoseconds from the session start.

The pipeline: a decoder thread feeds an inference thread through a queue of ``q_in`` batches;
the inference thread launches each batch's GPU work (at most ``inflight`` batches ahead of
the GPU, waiting on an event otherwise) and hands it to a post-processing thread through a
queue of ``q_out``; the post thread waits for the GPU's result, copies it back, then runs its
stages. Each stage's time is fixed, so the bottleneck is known by construction.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

US = 1_000
MS = 1_000_000
PID = 4242


@dataclass
class Export:
    pid: int = PID
    strings: dict[str, int] = field(default_factory=dict)
    threads: dict[str, int] = field(default_factory=dict)
    kernels: list[tuple] = field(default_factory=list)
    copies: list[tuple] = field(default_factory=list)
    runtime: list[tuple] = field(default_factory=list)
    sync: list[tuple] = field(default_factory=list)
    nvtx: list[tuple] = field(default_factory=list)
    osrt: list[tuple] = field(default_factory=list)
    marks: list[tuple] = field(default_factory=list)  # (ts, text, globalTid, uint64 payload)
    corr: int = 100
    hostname: str | None = None  # TARGET_INFO_SYSTEM_ENV's Hostname, where set
    utc_ns: int = 0  # the session's start, UTC epoch ns
    process_name: str = "python3"

    def s(self, text: str) -> int:
        return self.strings.setdefault(text, len(self.strings) + 1)

    def thread(self, name: str, tid: int) -> int:
        g = (self.pid << 24) | tid
        self.threads[name] = g
        return g

    def call(self, g: int, start: int, end: int, name: str) -> int:
        self.corr += 1
        self.runtime.append((start, end, g, self.corr, self.s(name)))
        return self.corr

    def kernel(self, g: int, t: int, start: int, end: int, name: str, stream: int = 13) -> None:
        c = self.call(g, t, t + 4 * US, "cudaLaunchKernel_v7000")
        self.kernels.append((start, end, 0, 1, stream, c, self.pid << 24, self.s(name)))

    def copy(self, g: int, t: int, call_end: int, start: int, end: int, kind: int, src: int,
             dst: int, nbytes: int, stream: int) -> None:
        c = self.call(g, t, call_end, "cudaMemcpyAsync_v3020")
        self.copies.append((start, end, 0, 1, stream, c, self.pid << 24, nbytes, kind, src, dst))

    def wait(self, g: int, start: int, end: int, name: str, sync_type: int, stream: int) -> None:
        c = self.call(g, start, end, name)
        self.sync.append((start, end, 0, 1, stream, c, self.pid << 24, sync_type))

    def push(self, g: int, start: int, end: int, text: str) -> None:
        self.nvtx.append((start, end, 59, text, g, None))

    def handover(self, g: int, start: int, end: int, text: str, end_g: int) -> None:
        self.nvtx.append((start, end, 60, text, g, end_g))

    def mark(self, g: int, ts: int, text: str, payload: int | None = None) -> None:
        self.marks.append((ts, text, g, payload))

    def os_wait(self, g: int, start: int, end: int, name: str = "pthread_cond_wait") -> None:
        if end > start:
            self.osrt.append((start, end, g, self.s(name)))

    def write(self, path: Path) -> Path:
        con = sqlite3.connect(path)
        ex = con.executescript
        ex("""
        CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE ThreadNames (nameId INTEGER, priority INTEGER, globalTid INTEGER);
        CREATE TABLE PROCESSES (globalPid INTEGER, pid INTEGER, name TEXT);
        CREATE TABLE META_DATA_EXPORT (name TEXT, value TEXT);
        CREATE TABLE TARGET_INFO_SESSION_START_TIME (utcEpochNs INTEGER, utcTime TEXT,
            localTime TEXT, systemClockNs INTEGER);
        CREATE TABLE TARGET_INFO_GPU (id INTEGER, name TEXT, busLocation TEXT, cuDevice INTEGER);
        CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, deviceId INTEGER,
            contextId INTEGER, streamId INTEGER, correlationId INTEGER, globalPid INTEGER,
            demangledName INTEGER, shortName INTEGER, graphNodeId INTEGER, graphId INTEGER);
        CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (start INTEGER, end INTEGER, deviceId INTEGER,
            contextId INTEGER, streamId INTEGER, correlationId INTEGER, globalPid INTEGER,
            bytes INTEGER, copyKind INTEGER, srcKind INTEGER, dstKind INTEGER,
            graphNodeId INTEGER);
        CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INTEGER, end INTEGER,
            eventClass INTEGER, globalTid INTEGER, correlationId INTEGER, nameId INTEGER,
            returnValue INTEGER, callchainId INTEGER);
        CREATE TABLE CUPTI_ACTIVITY_KIND_SYNCHRONIZATION (start INTEGER, end INTEGER,
            deviceId INTEGER, contextId INTEGER, streamId INTEGER, correlationId INTEGER,
            globalPid INTEGER, syncType INTEGER, eventId INTEGER);
        CREATE TABLE NVTX_EVENTS (start INTEGER, end INTEGER, eventType INTEGER,
            rangeId INTEGER, category INTEGER, color INTEGER, text TEXT, globalTid INTEGER,
            endGlobalTid INTEGER, textId INTEGER, domainId INTEGER, uint64Value INTEGER);
        CREATE TABLE TARGET_INFO_SYSTEM_ENV (globalVid INTEGER, devStateName TEXT, name TEXT,
            nameEnum INTEGER, value TEXT);
        CREATE TABLE OSRT_API (start INTEGER, end INTEGER, eventClass INTEGER,
            globalTid INTEGER, nameId INTEGER, returnValue INTEGER, nestingLevel INTEGER,
            callchainId INTEGER);
        """)
        for name, g in self.threads.items():
            con.execute("INSERT INTO ThreadNames VALUES (?, 10, ?)", (self.s(name), g))
        con.executemany("INSERT INTO StringIds VALUES (?, ?)",
                        [(i, t) for t, i in self.strings.items()])
        con.execute("INSERT INTO PROCESSES VALUES (?, ?, ?)",
                    (self.pid << 24, self.pid, self.process_name))
        if self.hostname is not None:
            con.execute("INSERT INTO TARGET_INFO_SYSTEM_ENV VALUES "
                        "(0, 'Local', 'Hostname', 619, ?)", (self.hostname,))
        con.executemany("INSERT INTO META_DATA_EXPORT VALUES (?, ?)", [
            ("EXPORT_PRODUCT_VERSION", "synthetic"), ("EXPORT_SCHEMA_VERSION", "3.0.0")])
        con.execute("INSERT INTO TARGET_INFO_SESSION_START_TIME VALUES (?, '', '', 1000)",
                    (self.utc_ns,))
        con.execute("INSERT INTO TARGET_INFO_GPU VALUES (0, 'Simulated GPU', '0000:01:00.0', 0)")
        con.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES "
                        "(?,?,?,?,?,?,?,?,?,NULL,NULL)",
                        [(*k, k[-1]) for k in self.kernels])
        con.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES "
                        "(?,?,?,?,?,?,?,?,?,?,?,NULL)", self.copies)
        con.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (?,?,1,?,?,?,0,NULL)",
                        self.runtime)
        con.executemany("INSERT INTO CUPTI_ACTIVITY_KIND_SYNCHRONIZATION VALUES "
                        "(?,?,?,?,?,?,?,?,NULL)", self.sync)
        con.executemany("INSERT INTO NVTX_EVENTS VALUES (?,?,?,NULL,0,0,?,?,?,NULL,0,NULL)",
                        self.nvtx)
        con.executemany("INSERT INTO NVTX_EVENTS VALUES (?,NULL,34,NULL,0,0,?,?,NULL,NULL,0,?)",
                        self.marks)
        con.executemany("INSERT INTO OSRT_API VALUES (?,?,1,?,?,0,0,NULL)", self.osrt)
        con.commit()
        con.close()
        return path


NAMES = {"decoder": "decoder", "infer": "infer", "post": "post", "decode": "decode",
         "infer_range": "infer", "frame": "frame batch_num={n}",
         "handoff": "buffer_process batch_num={n}", "copy": "copy-out",
         "stages": ("tile", "osd", "meta"), "kernel": "conv_fp16_kernel"}
RENAMED = {"decoder": "src-0", "infer": "worker-a", "post": "worker-b", "decode": "stage-in",
           "infer_range": "run", "frame": "item {n}", "handoff": "handoff {n}",
           "copy": "fetch", "stages": ("alpha", "beta", "gamma"), "kernel": "conv_fp16_kernel"}


def pipeline(path: Path, decode: float, stages: tuple[float, ...], gpu_ms: float = 6.0,
             batches: int = 120, q_in: int = 2, q_out: int = 1, inflight: int = 2,
             names: dict | None = None) -> Path:
    """Simulates the three-thread pipeline; stage times are multiples of the GPU time G."""
    nm = names or NAMES
    e = Export()
    dec, inf, post = (e.thread(nm[k], tid) for k, tid in
                      (("decoder", 4301), ("infer", 4302), ("post", 4303)))
    G = int(gpu_ms * MS)
    D = int(decode * G)
    launch = 60 * US
    n = batches
    dpush, take, put, gend, ptake, pend = ([0] * n for _ in range(6))
    t0 = 10 * MS
    for i in range(n):
        dstart = dpush[i - 1] if i else t0
        dend = dstart + D
        dpush[i] = max(dend, take[i - q_in] if i >= q_in else 0)
        e.push(dec, dstart, dend, nm["decode"])
        e.os_wait(dec, dend, dpush[i])
        free = put[i - 1] if i else t0
        take[i] = max(dpush[i], free)
        e.os_wait(inf, free, take[i])
        e.handover(dec, dpush[i], take[i], nm["frame"].format(n=i), inf)
        ready = max(take[i], gend[i - inflight] if i >= inflight else 0)
        if i >= inflight:
            e.wait(inf, take[i], ready + 8 * US, "cudaEventSynchronize_v3020", 1, 13)
        t = ready + 10 * US
        e.push(inf, t, t + launch, nm["infer_range"])
        gstart = max(t + 20 * US, gend[i - 1] if i else 0)
        e.copy(inf, t, t + 6 * US, gstart, gstart + G // 50, 1, 1, 2, 6 << 20, 13)
        k0 = gstart + G // 50
        step = (G - G // 50) // 4
        for j in range(4):
            e.kernel(inf, t + (10 + 10 * j) * US, k0 + j * step, k0 + (j + 1) * step,
                     nm["kernel"])
        gend[i] = k0 + 4 * step
        lend = t + launch
        put[i] = max(lend, ptake[i - q_out] if i >= q_out else 0)
        e.os_wait(inf, lend, put[i])
        ptake[i] = max(put[i], pend[i - 1] if i else 0)
        e.os_wait(post, pend[i - 1] if i else t0, ptake[i])
        cstart = max(ptake[i], gend[i]) + 10 * US
        cend = cstart + 30 * US
        e.copy(post, ptake[i], ptake[i] + 5 * US, cstart, cend, 2, 2, 1, 64 << 10, 14)
        e.wait(post, ptake[i] + 6 * US, cend + 8 * US, "cudaStreamSynchronize_v3020", 3, 14)
        e.push(post, ptake[i], cend + 10 * US, nm["copy"])
        s = cend + 12 * US
        for name, share in zip(nm["stages"], stages, strict=True):
            d = int(share * G)
            e.push(post, s, s + d, name)
            s += d
        pend[i] = s
        # opened on the inference thread, closed by the post thread (like nvinfer's ranges)
        e.handover(inf, lend, pend[i], nm["handoff"].format(n=i), post)
    return e.write(path)


def sync_loop(path: Path, prep: float, gpu_ms: float = 6.0, batches: int = 120) -> Path:
    """One thread: prepare in pageable memory, copy in, launch, synchronize, copy out."""
    e = Export()
    th = e.thread("main-loop", 5101)
    G = int(gpu_ms * MS)
    t = 10 * MS
    for _ in range(batches):
        e.push(th, t, t + int(prep * G), "prepare")
        t += int(prep * G) + 5 * US
        c0, c1 = t + 20 * US, t + 20 * US + G // 10
        e.copy(th, t, c1 + 5 * US, c0, c1, 1, 0, 2, 6 << 20, 7)  # pageable: blocks
        e.push(th, t, c1 + 6 * US, "upload")
        t = c1 + 10 * US
        e.push(th, t, t + 50 * US, "infer")
        g0 = t + 20 * US
        for j in range(4):
            e.kernel(th, t + 10 * j * US, g0 + j * G // 4, g0 + (j + 1) * G // 4, "conv_kernel",
                     stream=7)
        t += 50 * US
        gend = g0 + G
        e.wait(th, t, gend + 10 * US, "cudaDeviceSynchronize_v3020", 4, 7)
        e.push(th, t, gend + 12 * US, "wait")
        t = gend + 15 * US
        d0, d1 = t + 15 * US, t + 15 * US + 40 * US
        e.copy(th, t, d1 + 5 * US, d0, d1, 2, 2, 0, 64 << 10, 7)
        e.push(th, t, d1 + 6 * US, "download")
        t = d1 + 10 * US
    return e.write(path)
