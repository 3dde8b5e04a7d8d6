#!/usr/bin/env bash
# Builds pipesight's prebuilt tracer against the oldest GStreamer headers this script can
# fetch with apt alone: Debian 11's libgstreamer1.0-dev (GStreamer 1.18), downloaded and
# unpacked into a temporary folder (apt's state kept there too: the system's apt sources and
# packages are left as they are). A tracer built so loads on GStreamer 1.18 and newer, and
# refuses to register on anything older.
#   scripts/prebuild_tracer.sh [OUT]   OUT: default src/pipesight/tracer/prebuilt/$(uname -m)
#   HEADERS=DIR scripts/prebuild_tracer.sh   use headers already unpacked in DIR (for example
#                                            Ubuntu 20.04's GStreamer 1.16, for DeepStream 6)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-src/pipesight/tracer/prebuilt/$(uname -m)}
py=${PYTHON:-.venv/bin/python}
if [[ -z "${HEADERS:-}" ]]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p "$work"/{lists/partial,cache/archives/partial,root}
  echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bullseye main" \
    > "$work/sources.list"
  apt_opts=(-o "Dir::Etc::sourcelist=$work/sources.list" -o "Dir::Etc::sourceparts=/nonexistent"
            -o "Dir::State::Lists=$work/lists" -o "Dir::Cache=$work/cache" -o "Debug::NoLocking=1"
            -o "APT::Sandbox::User=root")
  apt-get "${apt_opts[@]}" update -qq
  version=$(apt-cache "${apt_opts[@]}" madison libgstreamer1.0-dev | awk '/bullseye/ {print $3; exit}')
  (cd "$work" && apt-get "${apt_opts[@]}" download -qq "libgstreamer1.0-dev=$version")
  dpkg -x "$work"/libgstreamer1.0-dev_*.deb "$work/root"
  HEADERS="$work/root/usr"
fi
"$py" -m pipesight.tracer.prebuilt --headers "$HEADERS" --out "$out"
