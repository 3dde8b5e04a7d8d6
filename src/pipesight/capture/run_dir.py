"""Making the run directory `-o` names, before anything runs: it must be new (or empty), be a
directory, and be writable; every way it can fail is one line."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from pipesight.errors import UserError

SUBDIRS = ("dot", "trace", "samples")
# file systems no run directory belongs on, whatever they let one do
_VIRTUAL = ("/proc", "/sys", "/dev")


def _refuse(run_dir: Path, why: str) -> UserError:
    return UserError(f"-o {run_dir}: {why}; choose another run directory with -o")


def prepare(run_dir: Path, subdirs: bool = True) -> None:
    resolved = Path(os.path.abspath(run_dir))
    for top in _VIRTUAL:
        if resolved == Path(top) or Path(top) in resolved.parents:
            raise _refuse(run_dir, f"under {top}, which is not a place for files")
    if run_dir.exists() or run_dir.is_symlink():
        if not run_dir.is_dir():
            raise _refuse(run_dir, "exists and is not a directory (a run directory is never "
                          "written over a file)")
        try:
            if any(run_dir.iterdir()):
                raise _refuse(run_dir, "already exists and is not empty (a run directory is "
                              "never overwritten)")
        except OSError as e:
            raise _refuse(run_dir, f"cannot be read ({e.strerror})") from None
    try:
        run_dir.mkdir(parents=True, exist_ok=True)
        for sub in SUBDIRS if subdirs else ():
            (run_dir / sub).mkdir(exist_ok=True)
        probe = run_dir / ".pipesight-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as e:
        why = {errno.EROFS: "on a read-only file system",
               errno.EACCES: "not writable (permission denied)",
               errno.EPERM: "not writable (operation not permitted)",
               errno.ENOSPC: "no space left on the device",
               errno.ENOTDIR: "a part of the path is a file, not a directory"}.get(
                   e.errno or 0, f"cannot be created ({e.strerror or e})")
        raise _refuse(run_dir, why) from None
