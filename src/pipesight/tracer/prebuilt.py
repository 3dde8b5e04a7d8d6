"""A prebuilt tracer, for targets without a C compiler or GStreamer's headers (a DeepStream
container, a Jetson image). It is compiled against the OLDEST GStreamer it supports (GStreamer
keeps its ABI within 1.x, so a plugin built against 1.18's headers loads on 1.18 and anything
newer), and a prebuilt.json beside it says for which: the oldest minor version, the headers'
version, the machine, and the digest of the source it was built from (the run directory's
format follows the source, so a prebuilt of another source is not used).

Two checks keep a wrong one from running: here, before the tracer is handed to GStreamer
(``usable``: machine, source, running GStreamer at least the oldest), and in the tracer
itself, which compares the running GStreamer with the version it was built for before it
registers anything (PS_GST_MIN_MINOR in pipesight_tracer.c).

A release makes one with ``python -m pipesight.tracer.prebuilt --headers ROOT --out DIR``,
ROOT holding an old GStreamer's include/gstreamer-1.0 (scripts/prebuild_tracer.sh fetches
Debian 11's GStreamer 1.18 headers); DIR is ``pipesight/tracer/prebuilt/MACHINE`` in the
package, or any folder named by PIPESIGHT_TRACER_DIR."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import hashlib
import json
import platform
import re
import subprocess
import sys
from importlib import resources
from pathlib import Path

from pipesight.tracer.compiler import PLUGIN, compile_tracer, find_cc, source

INFO = "prebuilt.json"


def source_digest() -> str:
    return hashlib.sha256(source().read_bytes()).hexdigest()


def running_gstreamer() -> tuple[int, int, int] | None:
    """The version of the GStreamer library this machine loads (gst_version(), which needs no
    gst_init), or None where there is none."""
    name = ctypes.util.find_library("gstreamer-1.0") or "libgstreamer-1.0.so.0"
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    v = [ctypes.c_uint() for _ in range(4)]
    lib.gst_version(*[ctypes.byref(x) for x in v])
    return v[0].value, v[1].value, v[2].value


def packaged_dir() -> Path:
    """Where a release puts its prebuilt tracer inside the package."""
    return Path(str(resources.files("pipesight") / "tracer" / "prebuilt" / platform.machine()))


def usable(folder: Path, running: tuple[int, int, int] | None) -> str | None:
    """Why the prebuilt tracer in ``folder`` must not be used here, or None when it may."""
    try:
        info = json.loads((folder / INFO).read_text())
        oldest = tuple(int(x) for x in str(info["gstreamer_min"]).split(".")[:2])
    except (OSError, ValueError, KeyError, TypeError):
        return f"{folder / INFO} is missing or unreadable"
    if info.get("machine") != platform.machine():
        return f"it was built for {info.get('machine')}, this machine is {platform.machine()}"
    if info.get("source_sha256") != source_digest():
        return "it was built from another version of pipesight's tracer"
    if running is None:
        return "no GStreamer library was found to check it against"
    if running[:2] < oldest:
        return (f"it was built for GStreamer {oldest[0]}.{oldest[1]} or newer, and this machine "
                f"runs {'.'.join(map(str, running))}")
    return None


def find(running: tuple[int, int, int] | None, folder: Path | None = None
         ) -> tuple[Path | None, str]:
    """A usable prebuilt tracer (the package's unless ``folder``), else None and why not."""
    d = folder if folder is not None else packaged_dir()
    if not (d / PLUGIN).exists():
        return None, "no prebuilt tracer ships with this installation"
    why = usable(d, running)
    return (None, f"the prebuilt tracer was not used: {why}") if why else (d, "")


def build(out: Path, headers: Path, cc: str | None = None, min_minor: int | None = None) -> Path:
    """Compile against the GStreamer headers under ``headers`` (its include/gstreamer-1.0,
    or usr/include/gstreamer-1.0) and the system's GLib, and write prebuilt.json."""
    inc = next((p for p in (headers / "include" / "gstreamer-1.0",
                            headers / "usr" / "include" / "gstreamer-1.0") if p.is_dir()), None)
    if inc is None:
        raise SystemExit(f"no include/gstreamer-1.0 under {headers}")
    ver = _header_version(inc / "gst" / "gstversion.h")
    minor = ver[1] if min_minor is None else min_minor
    cc = cc or find_cc()
    if cc is None:
        raise SystemExit("no C compiler found")
    glib = subprocess.run(["pkg-config", "--cflags", "--libs", "gobject-2.0"],
                          capture_output=True, text=True, check=True).stdout.split()
    err = compile_tracer(cc, out, [f"-I{inc}", f"-DPS_GST_MIN_MINOR={minor}", *glib,
                                   "-lgstreamer-1.0"])
    if err is not None:
        raise SystemExit(f"building the prebuilt tracer failed: {err}")
    (out / INFO).write_text(json.dumps({
        "gstreamer_min": f"{ver[0]}.{minor}", "built_against": ".".join(map(str, ver)),
        "machine": platform.machine(), "source_sha256": source_digest()}, indent=2) + "\n")
    return out


def _header_version(path: Path) -> list[int]:
    text = path.read_text()
    out = []
    for k in ("MAJOR", "MINOR", "MICRO"):
        m = re.search(rf"#define GST_VERSION_{k}\s+\((\d+)\)", text)
        if m is None:
            raise SystemExit(f"{path}: no GST_VERSION_{k}")
        out.append(int(m.group(1)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m pipesight.tracer.prebuilt",
                                 description="Build pipesight's tracer against an old "
                                 "GStreamer's headers, for targets without a compiler.")
    ap.add_argument("--headers", type=Path, required=True,
                    help="a folder with include/gstreamer-1.0 (e.g. an unpacked -dev package)")
    ap.add_argument("--out", type=Path, default=None,
                    help="where to write it (default: the package's prebuilt folder)")
    a = ap.parse_args(argv)
    out = build(a.out or packaged_dir(), a.headers)
    info = json.loads((out / INFO).read_text())
    print(f"prebuilt tracer: {out / PLUGIN} for GStreamer {info['gstreamer_min']} or newer "
          f"(headers {info['built_against']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

