#!/usr/bin/env python3
"""A GPU workload that makes a large Nsight Systems export fast: tiny kernels, as many as
possible. By default each is launched on its own for a set time (a kernel row and a CUDA runtime
row each), with an NVTX range per 1,000 launches; with --replays, a CUDA graph of --nodes kernels
is replayed instead (one range per replay), which a graph-level trace keeps small and a
per-node trace makes large: nsys 2025.3.1 with PyTorch 2.11 crashed the process after about
240,000 traced graph nodes (H200, 2026-11-27), hence the default.

    python3 bench/gpu/nsys_big_workload.py [--seconds 40] | [--nodes 1000 --replays 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=1000, help="kernels in the graph")
    p.add_argument("--replays", type=int, default=0, help="replay a CUDA graph this often")
    p.add_argument("--seconds", type=float, default=40.0, help="launch kernels this long")
    p.add_argument("--no-nvtx", action="store_true", help="no NVTX range per replay")
    a = p.parse_args()
    try:
        import torch
    except ImportError:
        print("nsys_big_workload: needs PyTorch", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("nsys_big_workload: CUDA is not available: this workload needs an NVIDIA GPU",
              file=sys.stderr)
        return 2
    x = torch.zeros(256, device="cuda")
    s = torch.cuda.Stream()
    with torch.cuda.stream(s):
        for _ in range(3):
            x.add_(1.0)
    s.synchronize()
    t0 = time.perf_counter()
    if not a.replays:
        launches = 0
        with torch.cuda.stream(s):
            while time.perf_counter() - t0 < a.seconds:
                if not a.no_nvtx:
                    torch.cuda.nvtx.range_push(f"launches {launches}")
                for _ in range(1000):
                    x.add_(1.0)
                if not a.no_nvtx:
                    torch.cuda.nvtx.range_pop()
                launches += 1000
        s.synchronize()
        print(json.dumps({"kernels": launches, "seconds": round(time.perf_counter() - t0, 3)}))
        return 0
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g, stream=s):
        for _ in range(a.nodes):
            x.add_(1.0)
    t0 = time.perf_counter()
    with torch.cuda.stream(s):
        for i in range(a.replays):
            if not a.no_nvtx:
                torch.cuda.nvtx.range_push(f"replay {i}")
            g.replay()
            if not a.no_nvtx:
                torch.cuda.nvtx.range_pop()
    s.synchronize()
    print(json.dumps({"kernels": a.nodes * a.replays, "seconds": round(time.perf_counter() - t0,
                                                                        3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
