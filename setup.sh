#!/usr/bin/env bash
# Sets up pipesight on Debian 12 / Ubuntu (as root, or with sudo): system packages, a virtual
# environment in .venv with pipesight and its test tools, and pipesight's GStreamer tracer.
#   ./setup.sh          everything
#   ./setup.sh --no-apt skip the system packages (they are already there)
set -euo pipefail
cd "$(dirname "$0")"

APT_PACKAGES=(
  # GStreamer 1.22 and the plugins the lab pipelines and users' pipelines need
  gstreamer1.0-tools gstreamer1.0-plugins-base gstreamer1.0-plugins-good
  gstreamer1.0-plugins-bad gstreamer1.0-libav
  # to build pipesight's tracer against the system's GStreamer
  libgstreamer1.0-dev pkg-config gcc
  # pipeline graphs
  graphviz
  # native stacks of a hung pipeline (pipesight doctor)
  elfutils
  # the tests open report.html in headless Chromium
  chromium
  # a real Prometheus server scrapes `pipesight watch` in the tests (run by them, on loopback)
  prometheus
  # python
  python3 python3-venv python3-dev
  # PyGObject for `lab gpu --engine gst` and the CPU lab's apps (built by pip against these)
  # and GStreamer's introspection data it loads
  libgirepository1.0-dev libcairo2-dev gir1.2-gstreamer-1.0 gir1.2-gst-plugins-base-1.0
)

if [[ "${1:-}" != "--no-apt" ]]; then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  missing=()
  for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if (( ${#missing[@]} )); then
    echo "setup: installing ${missing[*]}" >&2
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
      "${missing[@]}" >/dev/null
  fi
fi

PY=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[dev,gst,watch]'
# PyTorch for the GPU lab's tests on the CPU: this exact version (a CPU wheel of it is in pip's
# find-links on the development machines and CI)
.venv/bin/python -m pip install -q torch==2.13.0
# build the tracer now rather than at the first profile
.venv/bin/python -c "from pipesight.tracer.build import plugin_dir; d, n = plugin_dir(); print('setup: tracer', d or n)"
