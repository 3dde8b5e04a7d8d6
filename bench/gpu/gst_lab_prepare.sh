#!/usr/bin/env bash
# On the CPU machine, from the repository root, once: fills .device/ (git-ignored) with what
# bench/gpu/gst_lab_run.sh needs on the GPU machine: GStreamer 1.22 and PyGObject for its
# Python 3.12 (../shared/device/prepare-gst), Nsight Systems' missing libraries
# (../shared/device/prepare), and pipesight's tracer built here against Debian 12's GStreamer
# 1.22, the same as the carried one (.device/tracer/libgstpipesight.so).
set -euo pipefail
root=$(git rev-parse --show-toplevel)
cd "$root"
shared=${SHARED_DEVICE:-$root/../shared/device}
[ -f .device/nsys-env.sh ] || "$shared/prepare"
[ -f .device/gst-env.sh ] || "$shared/prepare-gst"
py=${PYTHON:-.venv/bin/python}
dir=$("$py" -c "from pipesight.tracer.build import plugin_dir
d, note = plugin_dir()
print(d or '')
if not d: raise SystemExit(note)")
mkdir -p .device/tracer
cp "$dir/libgstpipesight.so" .device/tracer/
ls -l .device/tracer
du -sh .device
