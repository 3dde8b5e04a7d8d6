"""Test media the lab scenarios read, made once with stock GStreamer and cached."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pipesight.errors import UserError

RECIPES = {
    # 30 s of 720p H.264 (openh264enc from gst-plugins-bad) in MP4; a moving zone plate is
    # hard enough to code that decoding costs a few ms a frame
    "h264_mp4": (
        "h264-720p-30s.mp4",
        "videotestsrc num-buffers=900 pattern=zone-plate kt=2 kx2=10 ky2=10 ! "
        "video/x-raw,width=1280,height=720,framerate=30/1 ! openh264enc ! h264parse ! mp4mux ! "
        "filesink location={out}",
    ),
}


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipesight" / "lab-media"


def ensure(kind: str) -> Path:
    if kind not in RECIPES:
        raise UserError(f"unknown lab media {kind!r}")
    fname, recipe = RECIPES[kind]
    out = cache_dir() / fname
    if out.exists() and out.stat().st_size > 0:
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp" + out.suffix)
    r = subprocess.run(["gst-launch-1.0", "-q", *recipe.format(out=tmp).split()],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0 or not tmp.exists():
        raise UserError(f"could not make the lab's test media {fname}: "
                        f"{(r.stderr or r.stdout).strip().splitlines()[-1:]}")
    tmp.replace(out)
    return out
