"""GStreamer for the lab's GStreamer engine: PyGObject loaded lazily, the H.264 decoder chosen,
and the clips made loopable.

Looping: each MP4 clip is converted once (into a cache folder) into its access units, one
Annex-B file per frame, which ``multifilesrc loop=true stop-index=LAST ! h264parse`` reads over
and over. Why not the whole clip as one file: multifilesrc reads a file as one buffer, and a
source acts on the EOS that stops the run only between buffers, so stopping would wait until a
whole clip had gone through the decoder (seconds on a CPU); one frame per buffer stops within a
frame. Why not segment seeks on ``filesrc ! qtdemux``: every stream would wait at each loop
for the application to seek again, and the queues before the batcher would drain each time.
Timestamps stay sane: multifilesrc stamps nothing and h264parse interpolates them from the frame
rate in the caps, so PTS rise by one frame duration per frame across every loop, in one segment.
Each access unit of an IDR frame carries SPS and PPS (``config-interval=-1``), so every loop
starts decodable.

The conversion runs in a gst-launch-1.0 child without the tracer variables
``pipesight profile`` sets (GST_TRACERS, GST_DEBUG_FILE, ...), so it neither appears in the
profiled run's trace nor overwrites its debug log; the application's own environment is left
as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from pipesight.errors import UserError

# decoders known to work, best first, and the raw format each is asked for: NVDEC downloads
# NV12 to system memory; the CPU decoders write I420 natively (no CPU conversion either way)
DECODERS: dict[str, str] = {"nvh264dec": "NV12", "avdec_h264": "I420", "openh264dec": "I420"}
# variables pipesight profile sets for the traced command; not for the one-off conversion
_TRACE_ENV = ("GST_TRACERS", "GST_DEBUG", "GST_DEBUG_FILE", "GST_DEBUG_DUMP_DOT_DIR",
              "PIPESIGHT_TRACE_DIR")


def require_gst() -> ModuleType:
    """PyGObject's Gst, initialised; one line saying what to install if it is missing."""
    try:
        import gi
    except ImportError:
        raise UserError("--engine gst needs PyGObject: pip install 'pipesight[gst]'") from None
    try:
        gi.require_version("Gst", "1.0")
        gi.require_version("GstBase", "1.0")
        from gi.repository import Gst
    except (ValueError, ImportError) as e:
        raise UserError(f"--engine gst needs GStreamer's introspection data ({e}): "
                        "apt install gir1.2-gstreamer-1.0") from None
    Gst.init(None)
    return Gst


def pick_decoder(gst: ModuleType, name: str | None) -> str:
    if name is not None:
        if name not in DECODERS:
            raise UserError(f"--decoder must be one of {', '.join(DECODERS)}")
        if gst.ElementFactory.find(name) is None:
            raise UserError(f"--decoder {name}: GStreamer has no element {name} here "
                            "(gst-inspect-1.0 lists those it has)")
        return name
    for d in DECODERS:
        if gst.ElementFactory.find(d) is not None:
            return d
    raise UserError(f"no H.264 decoder found ({', '.join(DECODERS)}); on Debian: apt install "
                    "gstreamer1.0-libav")


@dataclass(frozen=True)
class LoopClip:
    """One clip as a folder of access units (``%05d.h264``), with what its caps say."""

    folder: Path
    frames: int
    width: int
    height: int
    fps_n: int
    fps_d: int

    @property
    def location(self) -> str:
        return str(self.folder / "%05d.h264")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    d = Path(base) / "pipesight" / "lab-h264"
    try:
        d.mkdir(parents=True, exist_ok=True)
        return d
    except OSError:  # a read-only home: a folder of our own in the temporary directory
        d = Path(tempfile.gettempdir()) / f"pipesight-lab-h264-{os.getuid()}"
        d.mkdir(parents=True, exist_ok=True)
        return d


def loop_clip(clip: Path) -> LoopClip:
    """The clip's access units from the cache, made on first use."""
    digest = hashlib.sha1(clip.read_bytes()).hexdigest()[:12]
    out = cache_dir() / f"{clip.stem}-{digest}"
    meta = out / "caps.json"
    if meta.is_file():
        m = json.loads(meta.read_text())
        return LoopClip(out, m["frames"], m["width"], m["height"], m["fps_n"], m["fps_d"])
    exe = shutil.which("gst-launch-1.0")
    if exe is None:
        raise UserError("--engine gst needs gst-launch-1.0 (apt install gstreamer1.0-tools) to "
                        "prepare its clips")
    env = {k: v for k, v in os.environ.items() if k not in _TRACE_ENV}
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        cmd = [exe, "-v", "filesrc", f"location={clip}", "!", "qtdemux", "!", "h264parse",
               "config-interval=-1", "!", "video/x-h264,stream-format=byte-stream,alignment=au",
               "!", "multifilesink", f"location={tmp / '%05d.h264'}"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120)
        caps = re.search(r"video/x-h264.*?width=\(int\)(\d+).*?height=\(int\)(\d+)"
                         r".*?framerate=\(fraction\)(\d+)/(\d+)", r.stdout)
        frames = len(list(tmp.glob("*.h264")))
        if r.returncode != 0 or caps is None or frames == 0:
            last = (r.stderr.strip().splitlines() or ["no caps printed"])[-1]
            raise UserError(f"could not split {clip.name} into H.264 access units: {last}")
        w, h, fn, fd = (int(v) for v in caps.groups())
        if fn == 0:  # a variable frame rate: any rate gives rising timestamps
            fn, fd = 30, 1
        (tmp / "caps.json").write_text(json.dumps(
            {"frames": frames, "width": w, "height": h, "fps_n": fn, "fps_d": fd}))
        try:
            tmp.rename(out)
        except OSError:  # another run made it meanwhile
            if not meta.is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return loop_clip(clip)
