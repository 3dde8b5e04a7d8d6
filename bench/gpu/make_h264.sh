#!/usr/bin/env bash
# Makes the H.264 input for bench/gpu/nvml_decode_capture.py with GStreamer's openh264enc:
# 1280x720, 300 frames at 30 fps (10 s of a moving test pattern), about 4.7 MB, as an MP4
# (PyNvVideoCodec's demuxer reads it) in bench/gpu/data/ (git-ignored: carry it to the GPU
# machine). openh264 prints "cmInitParaError" once at the end of the stream; all 300 frames are
# written and decode.
#   bench/gpu/make_h264.sh [OUT.mp4]
set -euo pipefail
cd "$(dirname "$0")"
out=${1:-data/in_720p30.mp4}
mkdir -p "$(dirname "$out")"
gst-launch-1.0 -q -e videotestsrc num-buffers=300 pattern=smpte horizontal-speed=8 \
  ! video/x-raw,format=I420,width=1280,height=720,framerate=30/1 \
  ! openh264enc bitrate=1000000 rate-control=bitrate gop-size=60 \
  ! h264parse ! video/x-h264,stream-format=avc,alignment=au ! mp4mux ! filesink location="$out"
ls -l "$out"
