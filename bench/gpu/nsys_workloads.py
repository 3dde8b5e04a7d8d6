#!/usr/bin/env python3
"""GPU workloads with a known bottleneck, to be traced with Nsight Systems (fixtures for
pipesight's GPU view). Each scenario is a small video-analytics-like pipeline in PyTorch on
CUDA, with NVTX ranges on several threads:

  decoder thread --queue--> inference thread (launches the GPU work) --queue--> post thread

  post-starve          the post thread tiles, draws and writes metadata in series for longer
                       than a batch's inference: the GPU waits for it (gpu-starved, cause:
                       post-processing; serial-postprocess)
  gpu-busy             light CPU work, inference replayed from a CUDA graph: the GPU is full
                       (gpu)
  producer-starve      the decoder is slower than inference: gaps, but caused upstream
                       (gpu-starved, cause: producer; no serial-postprocess)
  sync-copies          one thread prepares input in pageable memory, copies it, runs, waits
                       for the GPU, copies back: the GPU idles while the thread works
                       (gpu-starved, cause: sync; pageable copies; no serial-postprocess)
  post-overlap         a busy post thread that keeps up with inference: costs nothing (gpu;
                       no serial-postprocess)
  post-starve-renamed  post-starve with every NVTX range and thread renamed: same verdict

Like DeepStream's nvinfer ("buffer_process batch_num=N"), a range opened on one thread is
closed on the next (range_start / range_end), so the hand-overs are in the trace.

CPU work is real numpy work that releases the GIL, run for a set time relative to the GPU's
per-batch time G (measured at start), so the ratios hold on any GPU. Only the steady state is
between cudaProfilerStart and cudaProfilerStop (nsys --capture-range=cudaProfilerApi).

    python3 bench/gpu/nsys_workloads.py SCENARIO [--seconds 2.5]

Prints one JSON line with what it did (G, batches, rate). Exits 2 with one line when PyTorch
or CUDA is missing.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import queue
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass

# per scenario: stage times as multiples of the GPU's per-batch time G, queue sizes, names
NAMES = {
    "decoder": "decoder", "infer": "infer", "post": "post",
    "decode": "decode", "infer_range": "infer", "frame": "frame batch_num={n}",
    "handoff": "buffer_process batch_num={n}", "copy": "copy-out",
    "stages": ("tile", "osd", "meta"),
}
RENAMED = {
    "decoder": "src-0", "infer": "worker-a", "post": "worker-b",
    "decode": "stage-in", "infer_range": "run", "frame": "item {n}",
    "handoff": "handoff {n}", "copy": "fetch",
    "stages": ("alpha", "beta", "gamma"),
}


@dataclass(frozen=True)
class Scenario:
    decode: float  # decoder CPU time per batch, x G
    stages: tuple[float, float, float]  # post thread's three stages per batch, x G
    q_in: int = 2
    q_out: int = 1
    inflight: int = 2  # batches the inference thread lets run ahead on the GPU
    graph: bool = False
    names: dict | None = None


SCENARIOS = {
    "post-starve": Scenario(decode=0.3, stages=(0.8, 0.7, 0.5)),
    "gpu-busy": Scenario(decode=0.2, stages=(0.08, 0.06, 0.06), graph=True),
    "producer-starve": Scenario(decode=2.0, stages=(0.12, 0.1, 0.08)),
    "post-overlap": Scenario(decode=0.3, stages=(0.25, 0.2, 0.15), q_out=2),
    "post-starve-renamed": Scenario(decode=0.3, stages=(0.8, 0.7, 0.5), names=RENAMED),
    "sync-copies": Scenario(decode=0.8, stages=(0.0, 0.0, 0.0)),  # one thread, see run_sync
}


def die(msg: str) -> None:
    print(f"nsys_workloads: {msg}", file=sys.stderr)
    sys.exit(2)


def name_os_thread(name: str) -> None:
    """The OS thread name (what nsys records): PR_SET_NAME, 15 bytes at most."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(15, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except OSError:
        pass


class CpuWork:
    """Real CPU work (numpy, which releases the GIL on large arrays) for a set time."""

    def __init__(self, np) -> None:
        self.np = np
        self.frame = np.zeros((540, 960, 3), np.uint8)
        self.mosaic = np.zeros((1080, 1920, 3), np.uint8)
        self.buf = np.ones(1 << 19, np.float32)

    def run(self, seconds: float, style: int) -> None:
        np = self.np
        end = time.perf_counter() + seconds
        i = 0
        while time.perf_counter() < end:
            if style == 0:  # tiling: copy frames into a mosaic
                y, x = (i % 2) * 540, ((i // 2) % 2) * 960
                np.copyto(self.mosaic[y:y + 540, x:x + 960], self.frame)
            elif style == 1:  # drawing: boxes as slice assignments
                self.mosaic[100 + i % 500:140 + i % 500, 200:1800] = 255
                np.multiply(self.buf, 1.0001, out=self.buf)
            else:  # metadata: arithmetic over a buffer
                np.add(self.buf, 1.0, out=self.buf)
                np.sqrt(self.buf, out=self.buf)
            i += 1


class Gpu:
    """The 'model': a chain of fp16 matmuls sized so one batch takes about target_ms."""

    def __init__(self, torch, target_ms: float) -> None:
        self.torch = torch
        dev = torch.device("cuda")
        self.dev = dev
        g = torch.Generator(device=dev).manual_seed(0)
        self.w = (torch.randn(8192, 8192, device=dev, dtype=torch.float16, generator=g)
                  / 90.5)
        self.act = torch.randn(4096, 8192, device=dev, dtype=torch.float16, generator=g)
        self.inp = torch.zeros(4 * 540 * 960 * 3, dtype=torch.uint8, device=dev)
        self.slots = [torch.zeros(4096, 16, device=dev, dtype=torch.float16) for _ in range(8)]
        self.depth = 1
        one = self.time_ms(3)
        self.depth = max(1, round(target_ms / max(one, 1e-3)))
        self.g_ms = self.time_ms(5)
        self.graph = None

    def forward(self, slot: int) -> None:
        # the input enters the activation so that the copy and the matmuls depend on each other
        y = self.act
        y[:1, :1024].add_(self.inp[:1024].to(self.torch.float16).view(1, 1024))
        for _ in range(self.depth):
            y = y @ self.w
        self.slots[slot].copy_(y[:, :16])

    def time_ms(self, n: int) -> float:
        torch = self.torch
        self.forward(0)
        torch.cuda.synchronize()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(n):
            self.forward(0)
        b.record()
        torch.cuda.synchronize()
        return a.elapsed_time(b) / n

    def capture(self, stream) -> bool:
        """Record one batch (writing slot 0) as a CUDA graph; False when capture fails."""
        torch = self.torch
        try:
            g = torch.cuda.CUDAGraph()
            with torch.cuda.stream(stream):
                self.forward(0)
            stream.synchronize()
            with torch.cuda.graph(g, stream=stream):
                self.forward(0)
            self.graph = g
            return True
        except Exception as e:  # an old driver or allocator setting: run eagerly
            print(f"nsys_workloads: CUDA graph capture failed ({e}); running eagerly",
                  file=sys.stderr)
            self.graph = None
            return False


def run_pipeline(torch, np, sc: Scenario, seconds: float, gpu: Gpu) -> dict:
    nv = torch.cuda.nvtx
    names = sc.names or NAMES
    work = CpuWork(np)
    g_s = gpu.g_ms / 1000.0
    s_inf = torch.cuda.Stream()
    s_copy = torch.cuda.Stream()
    use_graph = sc.graph and gpu.capture(s_inf)
    pinned_in = [torch.zeros(gpu.inp.shape, dtype=torch.uint8).pin_memory() for _ in range(4)]
    pinned_out = [torch.zeros(4096, 16, dtype=torch.float16).pin_memory() for _ in range(8)]
    q_in: queue.Queue = queue.Queue(maxsize=sc.q_in)
    q_out: queue.Queue = queue.Queue(maxsize=sc.q_out)
    stop = threading.Event()
    counts = {"decoded": 0, "inferred": 0, "posted": 0}

    def decoder() -> None:
        name_os_thread(names["decoder"])
        n = 0
        while not stop.is_set():
            nv.range_push(names["decode"])
            work.run(sc.decode * g_s, 2)
            nv.range_pop()
            rid = nv.range_start(names["frame"].format(n=n))
            q_in.put((n, pinned_in[n % 4], rid))
            counts["decoded"] += 1
            n += 1
        q_in.put(None)

    def infer() -> None:
        name_os_thread(names["infer"])
        inflight: deque = deque()
        torch.cuda.set_device(0)
        while True:
            item = q_in.get()
            if item is None:
                break
            n, host, rid = item
            nv.range_end(rid)
            while len(inflight) >= sc.inflight:
                inflight.popleft().synchronize()
            slot = 0 if use_graph else n % 8
            nv.range_push(names["infer_range"])
            with torch.cuda.stream(s_inf):
                gpu.inp.copy_(host, non_blocking=True)
                if use_graph:
                    gpu.graph.replay()
                else:
                    gpu.forward(slot)
                ev = torch.cuda.Event()
                ev.record(s_inf)
            nv.range_pop()
            inflight.append(ev)
            handoff = nv.range_start(names["handoff"].format(n=n))
            q_out.put((n, slot, ev, handoff))
            counts["inferred"] += 1
        q_out.put(None)

    def post() -> None:
        name_os_thread(names["post"])
        torch.cuda.set_device(0)
        while True:
            item = q_out.get()
            if item is None:
                break
            n, slot, ev, handoff = item
            nv.range_push(names["copy"])
            with torch.cuda.stream(s_copy):
                s_copy.wait_event(ev)
                pinned_out[n % 8].copy_(gpu.slots[slot], non_blocking=True)
            s_copy.synchronize()
            nv.range_pop()
            for style, (stage, share) in enumerate(zip(names["stages"], sc.stages,
                                                       strict=True)):
                nv.range_push(stage)
                work.run(share * g_s, style)
                nv.range_pop()
            nv.range_end(handoff)
            counts["posted"] += 1

    threads = [threading.Thread(target=f, name=names[k], daemon=True)
               for k, f in (("decoder", decoder), ("infer", infer), ("post", post))]
    for t in threads:
        t.start()
    time.sleep(0.3)  # past the first batches
    before = dict(counts)
    torch.cuda.profiler.start()
    t0 = time.perf_counter()
    time.sleep(seconds)
    done = dict(counts)
    t1 = time.perf_counter()
    torch.cuda.synchronize()
    torch.cuda.profiler.stop()
    stop.set()
    for t in threads:
        t.join(timeout=10)
    n = done["posted"] - before["posted"]
    return {"batches": n, "seconds": round(t1 - t0, 4), "batches_per_s": round(n / (t1 - t0), 3),
            "cuda_graph": bool(use_graph)}


def run_sync(torch, np, sc: Scenario, seconds: float, gpu: Gpu) -> dict:
    """One thread: prepare in pageable memory, copy, run, wait, copy back, repeat."""
    nv = torch.cuda.nvtx
    name_os_thread("main-loop")
    work = CpuWork(np)
    g_s = gpu.g_ms / 1000.0
    host = np.zeros(gpu.inp.shape[0], np.uint8)

    def one() -> None:
        nv.range_push("prepare")
        work.run(sc.decode * g_s, 2)
        host[:1024] += 1
        nv.range_pop()
        nv.range_push("upload")
        gpu.inp.copy_(torch.from_numpy(host))  # pageable: the thread waits for the copy
        nv.range_pop()
        nv.range_push("infer")
        gpu.forward(0)
        nv.range_pop()
        nv.range_push("wait")
        torch.cuda.synchronize()
        nv.range_pop()
        nv.range_push("download")
        gpu.slots[0].cpu()  # pageable again
        nv.range_pop()

    for _ in range(3):
        one()
    torch.cuda.profiler.start()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds:
        one()
        n += 1
    t1 = time.perf_counter()
    torch.cuda.profiler.stop()
    return {"batches": n, "seconds": round(t1 - t0, 4), "batches_per_s": round(n / (t1 - t0), 3),
            "cuda_graph": False}


def model_alone(torch, gpu: Gpu, seconds: float = 0.5) -> float:
    """Batches per second of the GPU work alone, launched back to back (before capture)."""
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    n = 0
    while time.perf_counter() - t0 < seconds:
        gpu.forward(n % 8)
        n += 1
    torch.cuda.synchronize()
    return n / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--seconds", type=float, default=2.5, help="steady state traced (s)")
    p.add_argument("--gpu-ms", type=float, default=6.0, help="GPU time per batch to aim for")
    a = p.parse_args(argv)
    try:
        import numpy as np
        import torch
    except ImportError as e:
        die(f"needs PyTorch and numpy ({e.name} is not installed)")
    if not torch.cuda.is_available():
        die("CUDA is not available (no NVIDIA GPU or driver): these workloads need one")
    name_os_thread("workload-main")
    sc = SCENARIOS[a.scenario]
    gpu = Gpu(torch, a.gpu_ms)
    alone = model_alone(torch, gpu)
    run = run_sync if a.scenario == "sync-copies" else run_pipeline
    res = run(torch, np, sc, a.seconds, gpu)
    print(json.dumps({"scenario": a.scenario, "gpu_ms_per_batch": round(gpu.g_ms, 4),
                      "matmuls_per_batch": gpu.depth, "model_alone_batches_per_s":
                      round(alone, 3), "device": torch.cuda.get_device_name(0),
                      "torch": torch.__version__, **res}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
