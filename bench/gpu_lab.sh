#!/usr/bin/env bash
# The GPU lab's measurements, in one call on the GPU machine (see docs/benchmarks.md):
#   bench-model's ceiling, the naive and the tuned pipeline's FPS and diagnostic variants (one
#   process: bench/gpu_lab_run.py), an Nsight Systems capture of each pipeline exported to
#   SQLite with nsys' own stats and analyze reports on it, and the GPU-only tests.
# Run from the project's root with a copy of pipesight (src/ tests/ bench/ pyproject.toml) in $W,
# PyNvVideoCodec's wheel in $WHL and, for nsys, .device/ (../shared/device/prepare).
# Results go to $OUT: results.tgz (rewritten at every step) and one .sqlite per pipeline.
set -u
W=${W:-.gpuwork/gpulab}
WHL=${WHL:-.whl}
OUT=${OUT:-/tmp/gpulab-out}
STREAMS=${STREAMS:-8}
MODEL=${MODEL:-yolo-x}
R=$OUT/res
mkdir -p "$R"
export PYTHONUNBUFFERED=1
if ls "$WHL"/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site "$WHL"/*.whl
fi
export PYTHONPATH=$PWD/$W/src:/tmp/site
step() { tar czf "$OUT/results.tgz" -C "$OUT" res; echo "=== $* ($(date +%T), ${SECONDS}s)" \
  | tee -a "$R/log.txt"; }

step environment
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
  nproc; date -u; python3 "$W/bench/gpu_probe.py"; } > "$R/env.txt" 2>&1

step "bench-model and pipelines (one process)"
timeout 260 python3 "$W/bench/gpu_lab_run.py" "$R/lab.json" --streams "$STREAMS" \
  --model "$MODEL" --seconds 10 --diag-seconds 4 2> "$R/lab.err"
grep -v "^\s*$" "$R/lab.err" | grep -E "^(ceiling|naive|tuned|bench)" | tee -a "$R/log.txt"
BACKEND=$(python3 -c "import json; print(json.load(open('$R/lab.json'))['pipeline_backend'])" \
  2>/dev/null || echo cudagraph)

if [ -f .device/nsys-env.sh ]; then
  step nsys
  source .device/nsys-env.sh > "$R/nsys-version.txt" 2>&1
  GRAPH=""
  nsys profile --help 2>&1 | grep -q cuda-graph-trace && GRAPH="--cuda-graph-trace=node"
  for mode in naive tuned; do
    durations="1.5 0.75"; [ "$mode" = tuned ] && durations="1 0.5"
    for dur in $durations; do
      rm -f "$OUT/$mode.nsys-rep" "$OUT/$mode.sqlite"
      timeout 120 nsys profile -t cuda,nvtx,osrt -s none --cpuctxsw=none $GRAPH \
        --capture-range=cudaProfilerApi --capture-range-end=stop -f true -o "$OUT/$mode" \
        python3 -m pipesight lab gpu --mode "$mode" --streams "$STREAMS" --model "$MODEL" \
        --backend "$BACKEND" --source nvdec --warmup 5 --duration "$dur" \
        --cuda-profiler-window > "$R/nsys-$mode.txt" 2>&1
      nsys export --type sqlite -f true -o "$OUT/$mode.sqlite" "$OUT/$mode.nsys-rep" \
        >> "$R/nsys-$mode.txt" 2>&1
      size=$(stat -c %s "$OUT/$mode.sqlite" 2>/dev/null || echo 0)
      echo "$mode capture ${dur}s: sqlite $size bytes" | tee -a "$R/log.txt"
      [ "$size" -gt 0 ] && [ "$size" -le 5000000 ] && break
      [ "$SECONDS" -gt 300 ] && break  # keep inside this call's time
    done
    rm -f "$OUT/$mode.nsys-rep"
    nsys stats -r cuda_gpu_kern_sum "$OUT/$mode.sqlite" > "$R/${mode}_cuda_gpu_kern_sum.txt" 2>&1
    nsys analyze -r gpu_gaps:gap=1,gpu_time_util "$OUT/$mode.sqlite" \
      > "$R/${mode}_analyze.txt" 2>&1 || nsys analyze -r gpu_gaps:gap=1 -r gpu_time_util \
      "$OUT/$mode.sqlite" >> "$R/${mode}_analyze.txt" 2>&1
  done
fi

if [ "$SECONDS" -lt 330 ]; then
  step gpu tests
  (cd "$W" && timeout 80 python3 -m pytest -q -p no:cacheprovider tests/test_lab_gpu_cuda.py \
    2>&1) | grep -E "passed|failed|PASS|FAIL|Error|error" | tail -12 > "$R/pytest.txt"
fi
step done
ls -l "$OUT"
