#!/usr/bin/env bash
# Benchmark ON THE GPU MACHINE: pipesight's analysis time and peak memory on an Nsight Systems
# export of about 1 GB, side by side with `nsys stats` on the same file (the export is too big
# to bring back). Run from the repository root after `source .device/nsys-env.sh`:
#   REPLAYS=10000 bash bench/gpu/bench_nsys_big.sh
# Results: $OUT/bench-nsys-big.log (one JSON line per measured command). Never stops at a failure.
set -x
set -u
OUT=${OUT:-$PWD/out}
REPLAYS=${REPLAYS:-10000}
W=/tmp/nsys-big
rm -rf "$W"; mkdir -p "$W" "$OUT"
exec > >(tee -a "$OUT/bench-nsys-big.log") 2>&1
nsys --version; nvidia-smi -L; nproc; free -g
python3 bench/gpu/measure.py nsys-profile -- nsys profile -t cuda,nvtx -s none --cpuctxsw=none \
  --cuda-graph-trace=node -o "$W/big" --force-overwrite true \
  python3 bench/gpu/nsys_big_workload.py --replays "$REPLAYS"
python3 bench/gpu/measure.py nsys-export -- nsys export --type sqlite --force-overwrite true \
  -o "$W/big.sqlite" "$W/big.nsys-rep"
ls -la "$W"
python3 - "$W/big.sqlite" <<'PY'
import sqlite3, sys
con = sqlite3.connect(sys.argv[1])
for t in ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_RUNTIME", "NVTX_EVENTS"):
    try:
        print(t, con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
    except sqlite3.Error as e:
        print(t, e)
PY
# nsys's own summary on the same export, then pipesight's whole analysis (read, measure, judge)
python3 bench/gpu/measure.py nsys-stats-kern-sum -- nsys stats -r cuda_gpu_kern_sum \
  --format csv --force-export false -o "$W/stats" "$W/big.sqlite"
python3 bench/gpu/measure.py nsys-analyze-gaps -- nsys analyze -r "gpu_gaps:gap=1:rows=-1" \
  --format csv -o "$W/gaps" "$W/big.sqlite"
python3 bench/gpu/measure.py pipesight-analyze -- env PYTHONPATH=src python3 -c "
import sys, time
from pathlib import Path
from pipesight.analysis import analyze_path
t = time.perf_counter()
_, _, v, _ = analyze_path(Path('$W/big.sqlite'))
print('pipesight:', round(time.perf_counter() - t, 2), 's;', v.bottleneck.kind, v.gpus)
"
ls -la "$OUT"
exit 0
