"""One process, one GPU, side by side: bench-model's ceiling, then the lab pipeline naive and
tuned, then diagnostic variants. One process so PyTorch compiles the model once and every
number comes from the same warm card. Writes one JSON object to the path given.

    python3 bench/gpu_lab_run.py OUT.json [--streams 8] [--model yolo-x] [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback

from pipesight.ceiling.bench import bench_model
from pipesight.lab.gpu.pipeline import LabConfig, run_lab

PT = ("eager", "cudagraph", "compile", "compile-cudagraph")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--streams", type=int, default=8)
    ap.add_argument("--model", default="yolo-x")
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--diag-seconds", type=float, default=5.0)
    a = ap.parse_args()
    res: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}

    def save() -> None:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=2)

    t0 = time.perf_counter()
    rep = bench_model(a.model, a.streams, None, "fp16", [*PT, "onnxruntime", "trtexec"],
                      warmup_s=1.0, repeat_s=0.4, repeats=5, latency_n=30,
                      log=lambda m: print(m, file=sys.stderr, flush=True))
    res["bench"] = rep.to_dict()
    res["bench_s"] = time.perf_counter() - t0
    fps = {r.backend: r.fps.median for r in rep.results if r.status == "ok" and r.fps
           and r.backend in PT}
    best = max(fps, key=fps.get)
    res["pipeline_backend"] = best
    ceiling = rep.ceiling.fps.median if rep.ceiling and rep.ceiling.fps else None
    print(f"ceiling {ceiling} ({best})", file=sys.stderr, flush=True)
    save()
    runs = [("naive", "nvdec", a.seconds), ("tuned", "nvdec", a.seconds),
            ("tuned", "nvdec-sync", a.diag_seconds), ("tuned", "synthetic", a.diag_seconds),
            ("naive", "synthetic", a.diag_seconds)]
    res["runs"] = []
    for mode, source, secs in runs:
        t1 = time.perf_counter()
        try:
            r = run_lab(LabConfig(mode=mode, streams=a.streams, model=a.model, backend=best,
                                  source=source, warmup=4.0, duration=secs))
            d = r.to_dict()
            d["ratio_to_ceiling"] = r.fps / ceiling if r.fps and ceiling else None
        except Exception as e:  # the others still run
            d = {"mode": mode, "source": source, "error": f"{type(e).__name__}: {e}",
                 "trace": traceback.format_exc()[-1500:]}
        d["wall_s"] = time.perf_counter() - t1
        res["runs"].append(d)
        print(mode, source, d.get("fps"), d.get("ratio_to_ceiling"), d.get("error", ""),
              file=sys.stderr, flush=True)
        save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
