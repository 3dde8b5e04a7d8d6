#!/usr/bin/env python3
"""A GPU workload that makes a large Nsight Systems export fast: a CUDA graph of many tiny
kernels, replayed over and over (traced per node, each replay adds every kernel), with an NVTX
range per replay. About 100 bytes of export per kernel: 10 million kernels make ~1 GB.

    python3 bench/gpu/nsys_big_workload.py [--nodes 1000] [--replays 10000]
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--nodes", type=int, default=1000, help="kernels in the graph")
    p.add_argument("--replays", type=int, default=10000)
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
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g, stream=s):
        for _ in range(a.nodes):
            x.add_(1.0)
    t0 = time.perf_counter()
    with torch.cuda.stream(s):
        for i in range(a.replays):
            torch.cuda.nvtx.range_push(f"replay {i}")
            g.replay()
            torch.cuda.nvtx.range_pop()
    s.synchronize()
    print(json.dumps({"kernels": a.nodes * a.replays, "seconds": round(time.perf_counter() - t0,
                                                                        3)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
