"""The GPU lab measured in one short device call (run 4 in docs/benchmarks.md): bench-model's
ceiling with the two graph backends, then the tuned and the naive pipeline on NVDEC, side by
side in one process on one warm card. On the GPU machine, with PyNvVideoCodec installed:

    PYTHONPATH=src python3 bench/gpu_lab_quick.py OUT.json
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from pathlib import Path

from pipesight.ceiling.bench import bench_model
from pipesight.lab.gpu.pipeline import LabConfig, run_lab


def main() -> int:
    out = Path(sys.argv[1])
    res: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}

    def save() -> None:
        out.write_text(json.dumps(res, indent=2))

    def log(m: str) -> None:
        print(m, file=sys.stderr, flush=True)

    rep = bench_model("yolo-x", 8, None, "fp16", ["cudagraph", "compile-cudagraph"],
                      warmup_s=1.0, repeat_s=0.4, repeats=5, latency_n=30, log=log)
    res["bench"] = rep.to_dict()
    fps = {r.backend: r.fps.median for r in rep.results if r.status == "ok" and r.fps}
    best = max(fps, key=fps.get)
    ceiling = rep.ceiling.fps.median if rep.ceiling and rep.ceiling.fps else None
    res["pipeline_backend"], res["ceiling"] = best, ceiling
    log(f"ceiling {ceiling} {best}")
    save()
    res["runs"] = []
    for mode in ("tuned", "naive"):
        t1 = time.perf_counter()
        try:
            r = run_lab(LabConfig(mode=mode, streams=8, model="yolo-x", backend=best,
                                  source="nvdec", warmup=4.0, duration=6.0))
            d = r.to_dict()
            d["ratio_to_ceiling"] = r.fps / ceiling if r.fps and ceiling else None
        except Exception as e:  # the other mode still runs
            d = {"mode": mode, "error": f"{type(e).__name__}: {e}",
                 "trace": traceback.format_exc()[-1500:]}
        d["wall_s"] = time.perf_counter() - t1
        res["runs"].append(d)
        log(f"{mode} {d.get('fps')} {d.get('ratio_to_ceiling')} {d.get('error', '')}")
        save()
    return 0


if __name__ == "__main__":
    sys.exit(main())
