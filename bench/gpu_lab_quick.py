# copied from the device call of run 4 (docs/benchmarks.md); run on the GPU machine with
# PYTHONPATH=src: python3 bench/gpu_lab_quick.py OUT.json
"""Quick GPU-lab measurement for one device call: ceiling (two fastest backends), naive and
tuned on NVDEC, side by side on the same warm card."""
import json, sys, time, traceback
from pipesight.gpu.bench import bench_model
from pipesight.lab.gpu.pipeline import LabConfig, run_lab
out = sys.argv[1]
res = {"started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
def save():
    json.dump(res, open(out, "w"), indent=2)
rep = bench_model("yolo-x", 8, None, "fp16", ["cudagraph", "compile-cudagraph"], warmup_s=1.0,
                  repeat_s=0.4, repeats=5, latency_n=30, log=lambda m: print(m, file=sys.stderr, flush=True))
res["bench"] = rep.to_dict()
fps = {r.backend: r.fps.median for r in rep.results if r.status == "ok" and r.fps}
best = max(fps, key=fps.get)
ceiling = rep.ceiling.fps.median if rep.ceiling and rep.ceiling.fps else None
res["pipeline_backend"], res["ceiling"] = best, ceiling
print("ceiling", ceiling, best, file=sys.stderr, flush=True)
save()
res["runs"] = []
for mode in ("tuned", "naive"):
    t1 = time.perf_counter()
    try:
        r = run_lab(LabConfig(mode=mode, streams=8, model="yolo-x", backend=best, source="nvdec",
                              warmup=4.0, duration=6.0))
        d = r.to_dict(); d["ratio_to_ceiling"] = r.fps / ceiling if r.fps and ceiling else None
    except Exception as e:
        d = {"mode": mode, "error": f"{type(e).__name__}: {e}", "trace": traceback.format_exc()[-1500:]}
    d["wall_s"] = time.perf_counter() - t1
    res["runs"].append(d)
    print(mode, d.get("fps"), d.get("ratio_to_ceiling"), d.get("error", ""), file=sys.stderr, flush=True)
    save()
