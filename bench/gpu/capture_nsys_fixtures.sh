#!/usr/bin/env bash
# Captures pipesight's Nsight Systems fixtures ON THE GPU MACHINE, with nsys's own reports to
# compare against, and packs everything into ONE tar.gz under $OUT (split in parts of 15 MiB if
# larger). Run from the repository root, after `source .device/nsys-env.sh`:
#
#   bash bench/gpu/capture_nsys_fixtures.sh [CORPUS_DIR]
#
# CORPUS_DIR (optional) holds Nsight Systems .sqlite exports (copies of ../shared/corpus/nsys)
# on which nsys's reports are run too. Unpack the result into tests/fixtures/nsys/:
#   tar xzf nsys-fixtures.tar.gz -C tests/fixtures/nsys
# Layout (see tests/fixtures/nsys/README.md):
#   SCENARIO.sqlite  SCENARIO.workload.json  reports/SCENARIO/TAG/*.csv  capture.log ...
#
# It never stops at a failure: every step is logged and the next one runs.
set -x
set -u
OUT=${OUT:-$PWD/out}
CORPUS=${1:-}
W=/tmp/nsys-fixtures
SECONDS_RUN=${SECONDS_RUN:-2.0}
rm -rf "$W"
mkdir -p "$W/reports" "$OUT"
LOG="$W/capture.log"
exec > >(tee -a "$LOG") 2>&1

echo "== environment $(date -u +%FT%TZ)"
uname -a
nvidia-smi || true
command -v nsys || { echo "capture: nsys not on PATH (source .device/nsys-env.sh first)"; }
nsys --version || true
python3 -c "import torch, numpy; print('torch', torch.__version__, 'cuda', torch.version.cuda, torch.cuda.is_available(), 'numpy', numpy.__version__)" || true
cat /proc/sys/kernel/perf_event_paranoid || true
nsys profile --help > "$W/nsys-profile-help.txt" 2>&1 || true
nsys analyze --help > "$W/nsys-analyze-help.txt" 2>&1 || true
nsys stats --help-reports > "$W/nsys-stats-reports.txt" 2>&1 || true
# facts for pipesight's reader: which profiler overheads nsys's GPU rules count as GPU time
nsys_dir=$(dirname "$(readlink -f "$(command -v nsys)")" 2>/dev/null)
for f in $(find "$nsys_dir/.." -name gpustats.py 2>/dev/null | head -n 2); do
  echo "== overhead names in $f"; grep -n "overhead" "$f" | head -n 40
done

GIL=""
grep -q "python-gil" "$W/nsys-profile-help.txt" && GIL=",python-gil"

profile() {  # profile NAME TRACE EXTRA_ARGS... -- then the workload arguments
  local name=$1 trace=$2; shift 2
  local rc
  timeout -s INT -k 20 150 nsys profile -t "$trace" -s none --cpuctxsw=none --cuda-graph-trace=node \
    --capture-range=cudaProfilerApi --capture-range-end=stop \
    -o "$W/$name" --force-overwrite true \
    python3 bench/gpu/nsys_workloads.py "$@" --seconds "$SECONDS_RUN" \
    > "$W/$name.workload.json" 2> "$W/$name.workload.err"
  rc=$?
  # nsys prints its progress on the same stdout as the workload's JSON line: keep the JSON
  grep -m1 '^{' "$W/$name.workload.json" > "$W/$name.workload.tmp" && \
    mv "$W/$name.workload.tmp" "$W/$name.workload.json"
  echo "profile $name: exit $rc"; cat "$W/$name.workload.err" | tail -n 20
  if [ ! -s "$W/$name.nsys-rep" ]; then
    echo "profile $name: no report with the capture range; again over the whole run"
    timeout -s INT -k 20 150 nsys profile -t "$trace" -s none --cpuctxsw=none \
      --cuda-graph-trace=node -o "$W/$name" --force-overwrite true \
      python3 bench/gpu/nsys_workloads.py "$@" --seconds "$SECONDS_RUN" \
      > "$W/$name.workload.json" 2> "$W/$name.workload.err"
    echo "profile $name (whole run): exit $?"
  fi
  timeout 120 nsys export --type sqlite --force-overwrite true -o "$W/$name.sqlite" \
    "$W/$name.nsys-rep"
  echo "export $name: exit $?"
  ls -la "$W/$name".* || true
}

reports() {  # reports NAME SQLITE: nsys's own numbers, each invocation in its own folder
  local name=$1 db=$2 d
  d="$W/reports/$name"
  mkdir -p "$d/stats" "$d/gaps1_util50x50" "$d/gaps3_util100x80" "$d/util1x101"
  timeout 120 nsys stats -r cuda_gpu_kern_sum,nvtx_gpu_proj_sum --format csv --force-export false \
    -o "$d/stats/out" "$db" > "$d/stats.stdout" 2>&1
  echo "report $name stats: exit $?"
  timeout 120 nsys analyze -r "gpu_gaps:gap=1:rows=-1,gpu_time_util:chunks=50:threshold=50:rows=-1" \
    --format csv -o "$d/gaps1_util50x50/out" "$db" > "$d/gaps1_util50x50.stdout" 2>&1
  echo "report $name gaps1_util50x50: exit $?"
  timeout 120 nsys analyze -r "gpu_gaps:gap=3:rows=-1,gpu_time_util:chunks=100:threshold=80:rows=-1" \
    --format csv -o "$d/gaps3_util100x80/out" "$db" > "$d/gaps3_util100x80.stdout" 2>&1
  echo "report $name gaps3_util100x80: exit $?"
  timeout 120 nsys analyze -r "gpu_time_util:chunks=1:threshold=101:rows=-1" \
    --format csv -o "$d/util1x101/out" "$db" > "$d/util1x101.stdout" 2>&1
  echo "report $name util1x101: exit $?"
  ls -R "$d"
  # one report on the console too, in case the file naming differs in this version
  timeout 120 nsys analyze -r "gpu_gaps:gap=1:rows=-1" --format csv -o - "$db" \
    > "$d/gaps1.console.csv" 2>&1
  # and without the rows option, should this version not know it
  timeout 120 nsys analyze -r "gpu_gaps:gap=1" --format csv -o - "$db" \
    > "$d/gaps1-default-rows.console.csv" 2>&1
}

verdict() {  # pipesight's own verdict there, for a first look (numpy is on the machine)
  local name=$1
  PYTHONPATH=src python3 - "$W/$name.sqlite" > "$W/$name.verdict.json" 2> "$W/$name.verdict.err" <<'EOF'
import sys
from pathlib import Path
from pipesight.workflows.answer import analyze_path
from pipesight.render import json_out
_, _, v, _ = analyze_path(Path(sys.argv[1]))
print(json_out.dumps(v))
EOF
  echo "pipesight $name: exit $?"; tail -n 5 "$W/$name.verdict.err"
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['bottleneck']); print([f['code'] for f in d['findings']]); print(d['gpus'])" "$W/$name.verdict.json" || true
}

pack() {  # all so far into $OUT (no .nsys-rep until the end): a hang later loses nothing
  tar czf "$OUT/nsys-fixtures.tar.gz" --exclude='*.nsys-rep' -C "$W" . && cp "$LOG" "$OUT/capture.log"
}

# the most telling first; a scenario is skipped once the device's 10-minute limit comes near
SCENARIOS="post-starve producer-starve sync-copies post-overlap gpu-busy post-starve-renamed"
BUDGET=${BUDGET:-480}
for s in $SCENARIOS; do
  if [ "$SECONDS" -gt "$BUDGET" ]; then echo "== skipped $s: out of time"; continue; fi
  echo "== scenario $s at ${SECONDS}s"
  profile "$s" cuda,nvtx,osrt "$s"
  [ -s "$W/$s.sqlite" ] && reports "$s" "$W/$s.sqlite"
  [ -s "$W/$s.sqlite" ] && verdict "$s"
  pack
done
if [ -n "$GIL" ] && [ "$SECONDS" -lt $((BUDGET - 60)) ]; then
  echo "== scenario post-starve with GIL tracing"
  profile post-starve-gil "cuda,nvtx,osrt$GIL" post-starve
  [ -s "$W/post-starve-gil.sqlite" ] && verdict post-starve-gil
fi

if [ -n "$CORPUS" ] && [ -d "$CORPUS" ] && [ "$SECONDS" -lt $((BUDGET + 20)) ]; then
  mkdir -p "$W/corpus"
  for f in "$CORPUS"/*.sqlite; do
    [ -e "$f" ] || continue
    b=$(basename "$f" .sqlite)
    cp "$f" "$W/corpus/$b.sqlite"   # nsys may add to the file it reads: work on a copy
    chmod u+w "$W/corpus/$b.sqlite"
    echo "== corpus $b"
    reports "corpus/$b" "$W/corpus/$b.sqlite"
    rm -f "$W/corpus/$b.sqlite"      # the original is in shared/corpus
  done
fi

# the report format's first bytes, for recognising .nsys-rep files by content
for f in "$W"/*.nsys-rep; do
  [ -e "$f" ] && { echo "== head of $(basename "$f")"; od -A d -t x1z -N 64 "$f"; }
done
# keep one report (the smallest), the rest are large and only their exports are needed
small=$(ls -S "$W"/*.nsys-rep 2>/dev/null | tail -n 1)
for f in "$W"/*.nsys-rep; do [ "$f" != "$small" ] && rm -f "$f"; done
du -ah "$W" | sort -h | tail -n 40

tar czf "$OUT/nsys-fixtures.tar.gz" -C "$W" .
ls -la "$OUT"
size=$(stat -c %s "$OUT/nsys-fixtures.tar.gz")
if [ "$size" -gt $((15 * 1024 * 1024)) ]; then
  # the device returns files of at most 16 MiB: split (cat nsys-fixtures.tar.gz.part-* | tar xz)
  split -b 15M -d "$OUT/nsys-fixtures.tar.gz" "$OUT/nsys-fixtures.tar.gz.part-"
  rm -f "$OUT/nsys-fixtures.tar.gz"
fi
cp "$LOG" "$OUT/capture.log"
ls -la "$OUT"
exit 0
