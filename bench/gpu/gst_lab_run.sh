#!/usr/bin/env bash
# The GStreamer engine of the GPU lab on the GPU machine, in one go (about 5 to 7 minutes):
#   1. bench-model: the detector alone, same model, batch, input size and precision: the ceiling
#   2. lab gpu --engine gst, naive then tuned, each run plainly (its FPS, ratio to the ceiling)
#   3. the same two under `pipesight profile --nsys` (the verdict; nsys captures only the
#      measured window, through cudaProfilerStart/Stop)
#   4. the GPU test of tests/test_lab_gst.py (naive and tuned pictures identical on CUDA)
#   5. a short table
#
# Usage, from the repository root on the GPU machine, carrying .device (see below):
#   bench/gpu/gst_lab_run.sh OUT_DIR
# Before, on the CPU machine, once:  bench/gpu/gst_lab_prepare.sh   (GStreamer 1.22, PyGObject
# and Nsight Systems' missing libraries into .device/, and pipesight's tracer into
# .device/tracer/, built here against Debian 12's GStreamer 1.22, the one carried).
#
# OUT_DIR gets: env.txt, bench-model.json, {naive,tuned}-plain.json (+ .err), gpu-test.txt, and for each
# profiled run {naive,tuned}/ with verdict.json, manifest.json, trace/, nsys.sqlite.xz and
# profile.txt (what pipesight printed); summary.txt is the table. Settings below can be
# overridden from the environment (MODEL=yolo-m ..., or DEVICE=cpu DECODER=avdec_h264
# MODEL=yolo-tiny PRECISION=fp32 BACKENDS=eager NSYS=0 for a dry run on a CPU machine).
set -u
OUT=${1:?usage: bench/gpu/gst_lab_run.sh OUT_DIR}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
STREAMS=${STREAMS:-8}
BATCH=${BATCH:-8}
MODEL=${MODEL:-yolo-x}
PRECISION=${PRECISION:-fp16}
DEVICE=${DEVICE:-cuda}
DECODER=${DECODER:-}                 # empty: nvh264dec where GStreamer has it
BACKENDS=${BACKENDS:-cudagraph,compile,compile-cudagraph}   # bench-model's; the lab takes the fastest
WARMUP=${WARMUP:-4}                  # seconds after PLAYING before the FPS window opens
PLAIN_S=${PLAIN_S:-10}               # measured seconds of each plain run
NAIVE_NSYS_S=${NAIVE_NSYS_S:-1.5}    # measured (and nsys-captured) seconds under profile --nsys
TUNED_NSYS_S=${TUNED_NSYS_S:-0.75}   # shorter: graph nodes traced one by one make big exports
NSYS=${NSYS:-1}
# ======== extra arguments for `pipesight profile`: add them here, e.g. ========
#   EXTRA_PROFILE_ARGS=(--ceiling "$OUT/bench-model.json")   (the ceiling measured above)
EXTRA_PROFILE_ARGS=(--ceiling "$OUT/bench-model.json")
# =============================================================================================
RUNS=${RUNS_DIR:-/tmp/gst-lab-runs}  # full run directories (nsys-rep etc.) stay out of OUT_DIR

export PYTHONPATH=$PWD/src${PYTHONPATH:+:$PYTHONPATH}
export PYTHONUNBUFFERED=1 XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
log() { echo "=== $* ($(date -u +%T), ${SECONDS}s)" | tee -a "$OUT/log.txt"; }

if [ -f .device/gst-env.sh ]; then
  source .device/gst-env.sh > "$OUT/gst-env.txt" 2>&1
fi
if [ "$NSYS" = 1 ] && [ -f .device/nsys-env.sh ]; then
  source .device/nsys-env.sh > "$OUT/nsys-env.txt" 2>&1
fi
if [ -z "${PIPESIGHT_TRACER_DIR:-}" ] && [ -f .device/tracer/libgstpipesight.so ]; then
  export PIPESIGHT_TRACER_DIR=$PWD/.device/tracer
fi
PS=(python3 -m pipesight)
LAB=("${PS[@]}" lab gpu --engine gst --streams "$STREAMS" --batch "$BATCH" --model "$MODEL"
     --precision "$PRECISION" --device "$DEVICE")
[ -n "$DECODER" ] && LAB+=(--decoder "$DECODER")

log environment
{ nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
  nproc; date -u; python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)'
  python3 -c 'import gi; print("PyGObject", gi.__version__)'
  gst-inspect-1.0 --version | head -1; gst-inspect-1.0 nvh264dec 2>&1 | grep -m1 -i "long-name"
  echo "tracer: ${PIPESIGHT_TRACER_DIR:-not carried (no GStreamer trace)}"
  command -v nsys >/dev/null && nsys --version; } > "$OUT/env.txt" 2>&1
cat "$OUT/env.txt"

SKIP_PLAIN=${SKIP_PLAIN:-0}  # 1: only the profiled runs (BACKEND=... names the lab's backend)
if [ "$SKIP_PLAIN" = 1 ]; then
  CEILING=none; BACKEND=${BACKEND:-compile-cudagraph}
else
log "bench-model $MODEL batch $BATCH $PRECISION ($BACKENDS)"
timeout 240 "${PS[@]}" bench-model --model "$MODEL" --batch "$BATCH" --precision "$PRECISION" \
  --device "$DEVICE" --backends "$BACKENDS" --repeats 5 --repeat-seconds 0.4 --warmup 1 \
  --latency-runs 20 --json > "$OUT/bench-model.json" 2> "$OUT/bench-model.err"
read -r CEILING BACKEND < <(python3 - "$OUT/bench-model.json" <<'EOF'
import json, sys
try:
    c = json.load(open(sys.argv[1]))["ceiling"]
    print(f"{c['fps']:.1f} {c['backend']}")
except Exception:
    print("none cudagraph")
EOF
)
echo "ceiling: $CEILING FPS ($BACKEND)" | tee -a "$OUT/log.txt"
fi

# the plain runs; VARIANTS adds tuned runs with other lab options (name=options;...)
VARIANTS=${VARIANTS:-}
PLAIN_RUNS="naive tuned ${VARIANTS//;/ }"; [ "$SKIP_PLAIN" = 1 ] && PLAIN_RUNS=""
for run in $PLAIN_RUNS; do
  mode=${run%%=*}; opts=""
  case "$run" in *=*) opts=${run#*=}; mode=tuned;; esac
  log "$run, plain: ${WARMUP}s warm-up, ${PLAIN_S}s measured"
  # shellcheck disable=SC2086
  timeout 300 "${LAB[@]}" --mode "$mode" --backend "$BACKEND" --warmup "$WARMUP" \
    --duration "$PLAIN_S" ${opts//,/ } --json > "$OUT/${run%%=*}-plain.json" \
    2> "$OUT/${run%%=*}-plain.err"
  echo "exit $?" >> "$OUT/${run%%=*}-plain.err"
  tail -n 2 "$OUT/${run%%=*}-plain.err"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(sys.argv[2], 'fps', round(d['fps'],1))" \
    "$OUT/${run%%=*}-plain.json" "$run" 2>/dev/null | tee -a "$OUT/log.txt"
done

# the ceiling under the same instrumentation as the profiled runs (CUDA tracing, graphs traced
# node by node, costs throughput): bench-model itself run through pipesight profile --nsys
if [ -n "${CEILING_FILE:-}" ]; then
  EXTRA_PROFILE_ARGS=(--ceiling "$CEILING_FILE")
elif [ "$NSYS" = 1 ] && command -v nsys >/dev/null; then
  log "bench-model under profile --nsys ($BACKEND)"
  rm -rf "$RUNS/bench-nsys"; mkdir -p "$RUNS"
  timeout 240 "${PS[@]}" profile --nsys -o "$RUNS/bench-nsys" -- "${PS[@]}" bench-model \
    --model "$MODEL" --batch "$BATCH" --precision "$PRECISION" --device "$DEVICE" \
    --backends "$BACKEND" --repeats 3 --repeat-seconds 0.4 --warmup 1 --latency-runs 10 \
    --json > "$OUT/bench-nsys.txt" 2>&1
  # the report is the JSON object in the command's output (nsys writes its own lines there)
  python3 - "$RUNS/bench-nsys/stdout.log" "$OUT/bench-model-nsys.json" <<'PYEOF'
import json, sys
text = open(sys.argv[1]).read()
start = next(i for i, ln in enumerate(text.splitlines(True)) if ln.startswith("{"))
obj, _ = json.JSONDecoder().raw_decode("".join(text.splitlines(True)[start:]))
json.dump(obj, open(sys.argv[2], "w"), indent=2)
PYEOF
  python3 -c "import json,sys; c=json.load(open(sys.argv[1]))['ceiling']; print('ceiling under nsys:', round(c['fps'],1))" \
    "$OUT/bench-model-nsys.json" 2>&1 | tee -a "$OUT/log.txt"
  [ -s "$OUT/bench-model-nsys.json" ] && EXTRA_PROFILE_ARGS=(--ceiling "$OUT/bench-model-nsys.json")
fi

NSYS_TRACE=${NSYS_TRACE:-}  # e.g. "-t cuda,nvtx": lighter tracing than profile's default
if [ "$NSYS" = 1 ] && command -v nsys >/dev/null; then
  NSYS_ARGS=(--nsys --nsys-args "--capture-range=cudaProfilerApi --capture-range-end=stop $NSYS_TRACE")
else
  NSYS_ARGS=()
  echo "no nsys: the profiled runs go without --nsys" | tee -a "$OUT/log.txt"
fi
for mode in ${PROFILED:-naive tuned}; do
  [ "$SECONDS" -gt 470 ] && { echo "skipping profiled $mode: out of time" | tee -a "$OUT/log.txt"; continue; }
  secs=$NAIVE_NSYS_S; [ "$mode" = tuned ] && secs=$TUNED_NSYS_S
  log "$mode under pipesight profile: ${WARMUP}s warm-up, ${secs}s measured"
  rm -rf "$RUNS/$mode"; mkdir -p "$RUNS" "$OUT/$mode"
  # profile's --duration only guards against a hang: the lab ends itself with EOS after its
  # warm-up and measured window, so the model's compilation never races a deadline
  timeout 400 "${PS[@]}" profile "${NSYS_ARGS[@]}" -o "$RUNS/$mode" --duration 300 \
    "${EXTRA_PROFILE_ARGS[@]}" -- "${LAB[@]}" --mode "$mode" --backend "$BACKEND" \
    --warmup "$WARMUP" --duration "$secs" --cuda-profiler-window --json \
    > "$OUT/$mode/profile.txt" 2>&1
  echo "exit $?" >> "$OUT/$mode/profile.txt"
  cat "$OUT/$mode/profile.txt" | head -n 30
  for f in verdict.json manifest.json stdout.log stderr.log; do
    [ -f "$RUNS/$mode/$f" ] && cp "$RUNS/$mode/$f" "$OUT/$mode/"
  done
  [ -d "$RUNS/$mode/trace" ] && cp -r "$RUNS/$mode/trace" "$OUT/$mode/"
  if [ -f "$RUNS/$mode/nsys.sqlite" ]; then
    if command -v xz >/dev/null; then
      xz -T0 -6 -c "$RUNS/$mode/nsys.sqlite" > "$OUT/$mode/nsys.sqlite.xz"
    else  # the same format from Python's lzma (one thread, so a lighter preset)
      python3 -c 'import lzma, shutil, sys
with open(sys.argv[1], "rb") as i, lzma.open(sys.argv[2], "wb", preset=3) as o:
    shutil.copyfileobj(i, o)' "$RUNS/$mode/nsys.sqlite" "$OUT/$mode/nsys.sqlite.xz"
    fi
  fi
  # the whole run directory but what is made again from it (report, trace.json) or too big
  # (the .nsys-rep; the export goes as nsys.sqlite.xz), for tests/fixtures
  tar -C "$RUNS" -cJf "$OUT/$mode-run.tar.xz" --exclude=nsys.nsys-rep --exclude=nsys.sqlite \
    --exclude=report.html --exclude=trace.json "$mode" 2>/dev/null || true
  # how the clocks were tied, against what the export's session start times would give
  python3 - "$RUNS/$mode" <<'PYEOF' 2>&1 | tee "$OUT/$mode/clock.txt"
import sys
from pathlib import Path
from pipesight.readers import clocks, run_dir
t = run_dir.load(Path(sys.argv[1]))
m, g = t.gpu_clock, t.gpu
print("clock:", m and m.to_dict())
print("marks in export:", 0 if g is None else len(g.marks), "made:", len(t.extras.get("clock_marks", [])))
if m is not None and g is not None and t.monotonic_offset_ns is not None:
    x0 = int(m.back(0))  # tracer time at the export's time 0
    s = clocks.from_session_start(t)
    if s is not None:
        print("session-start (UTC) gives time 0 at tracer", s.x0, "marks say", x0,
              "difference us", (s.x0 - x0) / 1e3)
    for name, v in (("ANALYSIS_DETAILS.startTime", g.analysis_start_ns),
                    ("systemClockNs", g.clock_origin_ns)):
        if v is not None:  # read as CLOCK_MONOTONIC of the export's time 0
            print(name, v, "as monotonic gives tracer", v - t.monotonic_offset_ns,
                  "difference us", (v - t.monotonic_offset_ns - x0) / 1e3)
PYEOF
  ls -l "$OUT/$mode" | tee -a "$OUT/log.txt"
done

if [ "$DEVICE" = cuda ] && [ "${GPU_TEST:-1}" = 1 ] && [ "$SECONDS" -lt 450 ]; then
  log "gpu test: naive and tuned draw identical pictures on CUDA with nvh264dec"
  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_lab_gst.py -m gpu \
    > "$OUT/gpu-test.txt" 2>&1
  tail -n 3 "$OUT/gpu-test.txt"
fi

log summary
python3 - "$OUT" "$CEILING" "$BACKEND" <<'EOF' | tee "$OUT/summary.txt"
import json, sys
from pathlib import Path

out, ceiling, backend = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
ceil = float(ceiling) if ceiling != "none" else None

def load(p):
    try:
        return json.loads(Path(p).read_text())
    except Exception:
        return None

first = load(out / "naive-plain.json") or load(out / "tuned-plain.json") or {}
print(f"lab gpu --engine gst: {first.get('streams')} streams, batch {first.get('batch')}, "
      f"{first.get('model')} {first.get('precision')} {first.get('input_size')}px, "
      f"{first.get('source', '?')}")
print(f"ceiling (bench-model, same model/batch/size/precision): {ceiling} FPS ({backend})")
print(f"{'run':<14}{'FPS':>9}{'of ceiling':>12}{'window s':>10}  verdict")
for mode in ("naive", "tuned"):
    for kind, res, verdict in (
            ("plain", load(out / f"{mode}-plain.json"), None),
            ("profiled", None, load(out / mode / "verdict.json"))):
        fps = (res or {}).get("fps") if verdict is None else verdict.get("throughput_fps")
        ratio = f"{100 * fps / ceil:.1f}%" if fps and ceil else "-"
        win = (res or {}).get("window_s")
        text = "-"
        if verdict:
            b = verdict.get("bottleneck") or {}
            text = f"{b.get('kind')} ({b.get('confidence')}): {b.get('summary', '')}"
            for g in verdict.get("gpus") or []:
                text += f" | gpu {json.dumps(g)[:300]}"
        elif kind == "profiled":
            text = "no verdict.json (see profile.txt)"
        fps_s = f"{fps:.1f}" if fps else ("failed" if res is None and verdict is None else "-")
        if verdict and verdict.get("headroom") is not None:
            ratio = f"{100 * verdict['headroom']:.1f}%*"  # * against the ceiling under nsys
        win_s = f"{win:.2f}" if win else "-"
        print(f"{mode + ' ' + kind:<14}{fps_s:>9}{ratio:>12}{win_s:>10}  {text}")
EOF
log done
du -sh "$OUT"
