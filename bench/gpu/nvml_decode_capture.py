"""Decodes an H.264 file on NVDEC with PyNvVideoCodec while pipesight's NVML sampler records at
100 ms, and writes the samples (RUN/samples/nvml.jsonl format) to OUT, followed by one
{"t": "phase"} line per phase with its monotonic start/end, decoder threads, frames and fps.

Phases: idle (baseline), decode with 1 thread, decode with N threads, idle again. One decode
session runs on one NVDEC engine, so comparing the 1-thread and N-thread phases against the
GPU's engine count shows how NVML's one decoder figure covers several engines.

  PYTHONPATH=src python3 bench/gpu/nvml_decode_capture.py bench/gpu/data/in_720p30.mp4 OUT.jsonl
      [--seconds 10] [--threads 4] [--idle 2] [--gpu 0] [--interval 0.1]

Exit status: 0 decoded and sampled; 2 PyNvVideoCodec or NVML could not run (the samples
taken, if any, are still written).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

from pipesight.capture.nvml_sampler import NvmlSampler


def decode_for(path: str, gpu: int, until: float, counter: list[int], errors: list[str]) -> None:
    """Decode ``path`` again and again until the monotonic time ``until``."""
    try:
        import PyNvVideoCodec as nvc
    except Exception as e:  # ImportError, or the driver's video libraries missing
        errors.append(f"PyNvVideoCodec did not load: {type(e).__name__}: {e}")
        return
    decoder = None
    try:
        while time.monotonic() < until:
            demuxer = nvc.CreateDemuxer(filename=path)
            fresh = decoder is None
            if fresh:
                decoder = nvc.CreateDecoder(gpuid=gpu, codec=demuxer.GetNvCodecId(),
                                            cudacontext=0, cudastream=0, usedevicememory=True)
            got = 0
            for packet in demuxer:
                for _frame in decoder.Decode(packet):
                    got += 1
                if time.monotonic() >= until:
                    break
            counter[0] += got
            if got == 0:
                if fresh:
                    errors.append("the decoder returned no frames")
                    return
                decoder = None  # it did not take a second pass after the end of the stream
    except Exception as e:
        errors.append(f"decoding failed: {type(e).__name__}: {e}")


def run_phase(name: str, path: str, gpu: int, threads: int, seconds: float) -> dict:
    start = time.monotonic_ns()
    counters = [[0] for _ in range(threads)]
    errors: list[str] = []
    if threads:
        until = time.monotonic() + seconds
        ts = [threading.Thread(target=decode_for, args=(path, gpu, until, c, errors))
              for c in counters]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    else:
        time.sleep(seconds)
    end = time.monotonic_ns()
    frames = sum(c[0] for c in counters)
    secs = (end - start) / 1e9
    return {"t": "phase", "name": name, "start": start, "end": end, "threads": threads,
            "frames": frames, "fps": round(frames / secs, 1) if secs else None,
            "errors": sorted(set(errors))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("out")
    ap.add_argument("--seconds", type=float, default=10.0, help="decoding time, both phases")
    ap.add_argument("--threads", type=int, default=4, help="decoder threads of the 2nd phase")
    ap.add_argument("--idle", type=float, default=2.0)
    ap.add_argument("--gpu", type=int, default=0)
    ap.add_argument("--interval", type=float, default=0.1)
    a = ap.parse_args()
    if not Path(a.input).is_file():
        print(f"nvml_decode_capture: no such file: {a.input}", file=sys.stderr)
        return 2
    out = Path(a.out)
    sampler = NvmlSampler(out, a.interval, root_pid=None)
    if not sampler.open():
        print(f"nvml_decode_capture: {sampler.note}", file=sys.stderr)
        return 2
    sampler.start()
    phases = []
    try:
        phases.append(run_phase("idle-before", a.input, a.gpu, 0, a.idle))
        phases.append(run_phase("decode-1-thread", a.input, a.gpu, 1, a.seconds / 2))
        phases.append(run_phase(f"decode-{a.threads}-threads", a.input, a.gpu, a.threads,
                                a.seconds / 2))
        phases.append(run_phase("idle-after", a.input, a.gpu, 0, a.idle / 2))
    finally:
        sampler.stop()
    with open(out, "a") as f:
        for p in phases:
            f.write(json.dumps(p) + "\n")
    print(json.dumps({"gpus": sampler.gpus, "samples": sampler.samples,
                      "sampler_cpu_s": round(sampler.cpu_ns / 1e9, 3)}, indent=1))
    summarize(out, phases)
    judge(out)
    failed = [e for p in phases for e in p["errors"]]
    if failed:
        print("nvml_decode_capture: " + "; ".join(sorted(set(failed))), file=sys.stderr)
        return 2
    return 0


def summarize(path: Path, phases: list[dict]) -> None:
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
    samples = [r for r in rows if r.get("t") == "s"]
    for p in phases:
        inside = [r for r in samples if p["start"] <= r["ts"] <= p["end"]]
        dec = [r["dec_util"] for r in inside if "dec_util" in r]
        gpu = [r["gpu_util"] for r in inside if "gpu_util" in r]
        print(f"{p['name']:>18}: {len(inside):3d} samples, decoder "
              f"{(sum(dec) / len(dec)) if dec else float('nan'):5.1f}% mean "
              f"{max(dec) if dec else float('nan'):5.1f}% max, gpu "
              f"{(sum(gpu) / len(gpu)) if gpu else float('nan'):5.1f}%, "
              f"{p['frames']} frames, {p['fps']} fps")


def judge(path: Path) -> None:
    """What pipesight's analyses make of the samples (the whole capture as the window)."""
    from pipesight.metrics import compute
    from pipesight.readers.hw_samples import read_nvml
    from pipesight.trace import Trace
    from pipesight.verdict import build_verdict

    t = Trace(samples=read_nvml(path, None))
    v = build_verdict(t, compute(t))
    print(f"verdict: {v.bottleneck.kind} ({v.bottleneck.confidence}): {v.bottleneck.summary}")
    for f in v.findings:
        print(f"  {f.code}: {f.title}")


if __name__ == "__main__":
    sys.exit(main())
