"""Nsight Systems' command line: where it is, and its SQLite export of a report. Used by what
runs a command under nsys (capture) and by what reads a report (readers)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from pipesight.errors import UserError


def nsys_exe() -> str | None:
    env = os.environ.get("NSYS")
    if env:
        return env if os.access(env, os.X_OK) else shutil.which(env)
    return shutil.which("nsys")


def export(rep: Path, out: Path) -> Path:
    """``nsys export --type sqlite`` of ``rep`` into ``out``."""
    exe = nsys_exe()
    if exe is None:
        raise UserError(f"{rep}: an Nsight Systems report; reading it needs nsys (not on PATH, "
                        f"$NSYS unset): install Nsight Systems, or export it elsewhere with "
                        f"`nsys export --type sqlite {rep.name}` and analyze the .sqlite")
    cmd = [exe, "export", "--type", "sqlite", "--force-overwrite", "true", "-o", str(out),
           str(rep)]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise UserError(f"{rep}: nsys export failed to run ({e})") from None
    if res.returncode != 0 or not out.exists():
        last = (res.stderr or res.stdout).strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"{rep}: nsys export failed (exit {res.returncode}): {last[0]}")
    return out
