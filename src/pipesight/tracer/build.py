"""pipesight's GStreamer tracer for this machine: built once against the system's GStreamer
(exact), else a prebuilt one that fits the running GStreamer (tracer/prebuilt.py), else none,
and the reason, which `profile` says before it falls back to GStreamer's own tracers."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

from pipesight.tracer import prebuilt
from pipesight.tracer.compiler import PLUGIN, compile_tracer, find_cc, source
from pipesight.tracer.nvtx_headers import include_dir


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "pipesight" / "tracer"


def _pkg_config(*args: str) -> str | None:
    if shutil.which("pkg-config") is None:
        return None
    r = subprocess.run(["pkg-config", *args, "gstreamer-1.0"], capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else None


def plugin_dir(build: bool = True) -> tuple[Path | None, str]:
    """The folder holding the tracer (for GST_PLUGIN_PATH) and a note: why there is none, or
    that a prebuilt one stands in for a build."""
    env = os.environ.get("PIPESIGHT_TRACER_DIR")
    if env and (Path(env) / PLUGIN).exists():
        if not (Path(env) / prebuilt.INFO).exists():
            return Path(env), ""  # the user's own build: the tracer checks the version itself
        d, why = prebuilt.find(prebuilt.running_gstreamer(), Path(env))
        return d, why.replace("the prebuilt tracer", f"the tracer in PIPESIGHT_TRACER_DIR={env}")
    built, why = _built(build)
    if built is not None:
        return built, ""
    d, why_not = prebuilt.find(prebuilt.running_gstreamer())
    if d is not None:
        return d, f"{why}: using the prebuilt tracer instead"
    return None, why + ("" if "no prebuilt" in why_not else f"; {why_not}")


def _built(build: bool) -> tuple[Path | None, str]:
    """The tracer built from source for this machine's GStreamer (cached), or why not."""
    version = _pkg_config("--modversion")
    if version is None:
        return None, ("the GStreamer development files are missing (pkg-config gstreamer-1.0): "
                      "install libgstreamer1.0-dev to get exact per-element timing")
    nvtx, _ = include_dir(fetch=False)
    if nvtx is None and build:
        # without the headers the tracer still works; only Nsight marks and ranges are lost
        nvtx, _ = include_dir(fetch=True)
    digest = hashlib.sha256(source().read_bytes() + (b"nvtx" if nvtx else b"")).hexdigest()[:12]
    out = _cache_root() / f"{version}-{digest}"
    if (out / PLUGIN).exists():
        return out, ""
    if not build:
        return None, "the pipesight tracer is not built"
    cc = find_cc()
    if cc is None:
        return None, ("no C compiler found to build the pipesight tracer (install gcc and "
                      "libgstreamer1.0-dev)")
    flags = (_pkg_config("--cflags") or "").split() + (_pkg_config("--libs") or "").split()
    if nvtx is not None:
        flags += ["-DPS_HAVE_NVTX", f"-I{nvtx}", "-ldl"]
    err = compile_tracer(cc, out, flags)
    if err is not None:
        return None, "building the pipesight tracer failed: " + err
    return out, ""
