#!/usr/bin/env bash
# Regenerates the lab pipeline's H.264 clips: 4 clips, 1280x720, 30 fps, 2 s each, encoded on the
# CPU by GStreamer's openh264enc (Constrained Baseline, one IDR every 30 frames) into MP4, which
# PyNvVideoCodec's demuxer and NVDEC read, and GStreamer's own decoders too.
# Usage: src/pipesight/lab/gpu/media/make.sh [OUT_DIR]   (default: this script's folder)
set -euo pipefail
out=${1:-$(cd "$(dirname "$0")" && pwd)}
mkdir -p "$out"
frames=60
caps="video/x-raw,width=1280,height=720,framerate=30/1,format=I420"
enc="openh264enc bitrate=600000 gop-size=30 rate-control=bitrate enable-frame-skip=false ! h264parse ! mp4mux"
src=(
  "videotestsrc pattern=ball motion=sweep animation-mode=frames"
  "videotestsrc pattern=smpte75"
  "videotestsrc pattern=zone-plate kx2=20 ky2=20 kt=1"
  "videotestsrc pattern=pinwheel horizontal-speed=4"
)
for i in "${!src[@]}"; do
  gst-launch-1.0 -q ${src[$i]} num-buffers=$frames ! $caps ! timeoverlay font-desc="Sans 48" \
    ! videoconvert ! $caps ! $enc ! filesink location="$out/clip$i.mp4"
done
ls -l "$out"/clip*.mp4
