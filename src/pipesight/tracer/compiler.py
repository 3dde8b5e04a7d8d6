"""The one command that compiles pipesight's tracer, for a build on the target (build.py) and
for a prebuilt one (prebuilt.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
from importlib import resources
from pathlib import Path

PLUGIN = "libgstpipesight.so"


def source() -> Path:
    return Path(str(resources.files("pipesight") / "tracer" / "pipesight_tracer.c"))


def find_cc() -> str | None:
    return shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")


def compile_tracer(cc: str, out_dir: Path, flags: list[str]) -> str | None:
    """Compile into out_dir/PLUGIN (atomically); the compiler's last words on failure."""
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp = out_dir / (PLUGIN + ".tmp")
    r = subprocess.run([cc, "-O2", "-shared", "-fPIC", "-o", str(tmp), str(source()), *flags,
                        "-lm"], capture_output=True, text=True)
    if r.returncode != 0:
        return r.stderr.strip()[-300:] or f"{cc} exited with status {r.returncode}"
    tmp.replace(out_dir / PLUGIN)
    return None
