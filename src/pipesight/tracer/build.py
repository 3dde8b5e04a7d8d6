"""Build pipesight's GStreamer tracer against the system's GStreamer, once, and find it."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

from pipesight.tracer.nvtx_headers import include_dir

PLUGIN = "libgstpipesight.so"


def _source() -> Path:
    return Path(str(resources.files("pipesight") / "tracer" / "pipesight_tracer.c"))


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipesight" / "tracer"


def _pkg_config(*args: str) -> str | None:
    if shutil.which("pkg-config") is None:
        return None
    r = subprocess.run(["pkg-config", *args, "gstreamer-1.0"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def plugin_dir(build: bool = True) -> tuple[Path | None, str]:
    """The folder holding the built tracer (for GST_PLUGIN_PATH), and a note on failure."""
    env = os.environ.get("PIPESIGHT_TRACER_DIR")
    if env and (Path(env) / PLUGIN).exists():
        return Path(env), ""
    src = _source()
    version = _pkg_config("--modversion")
    if version is None:
        return None, ("the GStreamer development files are missing (pkg-config gstreamer-1.0): "
                      "install libgstreamer1.0-dev to get exact per-element timing")
    nvtx, _ = include_dir(fetch=False)
    if nvtx is None and build:
        # without the headers the tracer still works; only Nsight marks and ranges are lost
        nvtx, _ = include_dir(fetch=True)
    digest = hashlib.sha256(src.read_bytes() + (b"nvtx" if nvtx else b"")).hexdigest()[:12]
    out = _cache_root() / f"{version}-{digest}"
    if (out / PLUGIN).exists():
        return out, ""
    if not build:
        return None, "the pipesight tracer is not built"
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        return None, "no C compiler found to build the pipesight tracer"
    flags = (_pkg_config("--cflags") or "").split() + (_pkg_config("--libs") or "").split()
    if nvtx is not None:
        flags += ["-DPS_HAVE_NVTX", f"-I{nvtx}", "-ldl"]
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / (PLUGIN + ".tmp")
    r = subprocess.run(
        [cc, "-O2", "-shared", "-fPIC", "-o", str(tmp), str(src), *flags, "-lm"],
        capture_output=True, text=True,
    )
    if r.returncode != 0:
        return None, "building the pipesight tracer failed: " + r.stderr.strip()[-300:]
    tmp.replace(out / PLUGIN)
    return out, ""
