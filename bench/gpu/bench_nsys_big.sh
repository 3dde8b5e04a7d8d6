#!/usr/bin/env bash
# Benchmark ON THE GPU MACHINE: pipesight's analysis time and peak memory on an Nsight Systems
# export of about 1 GB, side by side with `nsys stats` on the same file (the export is too big
# to bring back). From the repository root, after `source .device/nsys-env.sh`:
#   WORKLOAD_ARGS="--seconds 40" PS_SRC=src bash bench/gpu/bench_nsys_big.sh
# PS_SRC: the PYTHONPATH pipesight runs from. EXPORT=FILE.sqlite skips the capture and measures
# that file (also how the script is tried without a GPU). Each step has its own time limit, so
# a slow one cannot take the others' numbers with it; pipesight is measured before nsys stats.
# Results: $OUT/bench-nsys-big.log (one JSON line per measured command: wall, CPU, peak RSS).
set -u
OUT=${OUT:-$PWD/out}
PS_SRC=${PS_SRC:-src}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=${W:-/tmp/nsys-big}
mkdir -p "$W" "$OUT"
exec > >(tee -a "$OUT/bench-nsys-big.log") 2>&1
m() { python3 "$HERE/measure.py" "$@"; }
date -u +%FT%TZ; nproc; free -g | head -2
DB=${EXPORT:-}
if [ -z "$DB" ]; then
  nsys --version; nvidia-smi -L
  # the export is written by nsys profile itself (no second pass over the report)
  m nsys-profile-export -- timeout "${T_PROFILE:-170}" nsys profile -t cuda,nvtx -s none \
    --cpuctxsw=none --cuda-graph-trace=node --export sqlite -o "$W/big" --force-overwrite true \
    python3 "$HERE/nsys_big_workload.py" ${WORKLOAD_ARGS:---seconds 40}
  DB=$W/big.sqlite
fi
ls -la "$(dirname "$DB")"
python3 - "$DB" <<'PY'
import os, sqlite3, sys
con = sqlite3.connect(sys.argv[1])
print("export_mb", round(os.path.getsize(sys.argv[1]) / 2**20, 1))
for t in ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_RUNTIME", "NVTX_EVENTS"):
    try:
        print(t, con.execute(f"SELECT count(*) FROM {t}").fetchone()[0])
    except sqlite3.Error as e:
        print(t, e)
PY
# pipesight's whole analysis (read, measure, judge), then nsys's own kernel summary
m pipesight-analyze -- timeout "${T_PIPESIGHT:-90}" env PYTHONPATH="$PS_SRC" sh -c \
  'exec python3 -m pipesight analyze --json "$1" > "$2"' sh "$DB" "$W/verdict.json"
python3 - "$W/verdict.json" <<'PY'
import json, sys
try:
    v = json.load(open(sys.argv[1]))
except ValueError as e:
    sys.exit(f"no verdict: {e}")
print("pipesight:", v["bottleneck"]["kind"], [{k: g[k] for k in ("device", "kernels",
      "busy_fraction", "span_ms", "idle_gaps", "graph_ops")} for g in v["gpus"]])
PY
rm -f "$W"/stats*.csv  # nsys stats skips a report whose output file exists
m nsys-stats-kern-sum -- timeout "${T_STATS:-90}" nsys stats -r cuda_gpu_kern_sum --format csv \
  --force-export false --force-overwrite true -o "$W/stats" "$DB"
head -c 600 "$W"/stats*.csv 2>/dev/null; echo
# nsys' own utilization rule on the same file, to set beside pipesight's busy fraction
rm -f "$W"/analyze*.csv
m nsys-analyze-util -- timeout "${T_STATS:-90}" nsys analyze -r gpu_time_util --format csv \
  --force-export false --force-overwrite true -o "$W/analyze" "$DB"
head -c 1500 "$W"/analyze*.csv 2>/dev/null; echo
cp "$W"/stats*.csv "$W"/analyze*.csv "$OUT/" 2>/dev/null
cp "$W/verdict.json" "$OUT/" 2>/dev/null
exit 0
