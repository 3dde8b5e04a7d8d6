"""What a path on the command line names, before any reader opens it: a file or a directory as
it is; a pipe (``analyze <(zcat log.gz)``, a FIFO, ``-`` for standard input) copied whole into
a temporary file, since readers seek and map their input; a device or a socket refused.

A pipe is opened without blocking and read as data comes; when nothing arrives for
``PIPESIGHT_PIPE_TIMEOUT`` seconds (default 10) pipesight gives up with one line, so a FIFO
nobody writes to cannot hang it.
"""

from __future__ import annotations

import atexit
import os
import select
import shutil
import stat
import sys
import tempfile
import time
from pathlib import Path

from pipesight.errors import UserError

STDIN = "-"
DEFAULT_TIMEOUT_S = 10.0
CHUNK = 1 << 20
_spool_dir: Path | None = None
_names: dict[str, str] = {}  # spooled file -> what the user named


def pipe_timeout_s() -> float:
    raw = os.environ.get("PIPESIGHT_PIPE_TIMEOUT", "")
    try:
        v = float(raw)
    except ValueError:
        return DEFAULT_TIMEOUT_S
    return v if 0 < v < 1e6 else DEFAULT_TIMEOUT_S


def resolve(arg: str | Path) -> Path:
    """A path readers can open, seek and map; UserError for what cannot be read."""
    name = str(arg)
    if name == STDIN:
        return _from_stdin()
    path = Path(name)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise UserError(f"{name}: no such file or directory") from None
    except OSError as e:
        raise UserError(f"cannot read {name}: {e.strerror or e}") from None
    mode = st.st_mode
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return path
    if stat.S_ISFIFO(mode):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        except OSError as e:
            raise UserError(f"cannot read {name}: {e.strerror or e}") from None
        return _spool(fd, name, close=True)
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        raise UserError(f"{name}: a device, not a file; pipesight reads files, run directories "
                        "and pipes")
    if stat.S_ISSOCK(mode):
        raise UserError(f"{name}: a socket, not a file")
    raise UserError(f"{name}: not a file or a directory")


def display_name(path: Path) -> str:
    """What the user called a spooled input; the path itself otherwise."""
    return _names.get(str(path), str(path))


def unspool(text: str) -> str:
    """``text`` with every spooled copy's path replaced by what the user named."""
    for spooled, name in _names.items():
        if spooled in text:
            text = text.replace(spooled, name)
    if _spool_dir is not None and str(_spool_dir) in text:
        text = text.replace(str(_spool_dir) + "/", "")
    return text


def _from_stdin() -> Path:
    try:
        fd = sys.stdin.fileno()
        st = os.fstat(fd)
    except (AttributeError, ValueError, OSError):
        raise UserError("-: standard input is closed") from None
    if os.isatty(fd):
        raise UserError("-: standard input is a terminal; pipe a file into it "
                        "(e.g. zcat log.gz | pipesight analyze -)")
    if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
        raise UserError("-: standard input is a device, not a file")
    return _spool(fd, "standard input", close=False)


def _spool(fd: int, name: str, close: bool) -> Path:
    """Copy a pipe into a temporary file as data arrives; give up when none comes in time."""
    timeout = pipe_timeout_s()
    out = _spool_path(name)
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLHUP)
    try:
        with open(out, "wb") as f:
            while True:
                t0 = time.monotonic()
                events = poller.poll(timeout * 1000)
                if not events:
                    what = "nothing more was written" if f.tell() else "nothing was written"
                    raise UserError(f"{name}: {what} to this pipe for {timeout:g} s; gave up "
                                    "(set PIPESIGHT_PIPE_TIMEOUT to wait longer)")
                try:
                    data = os.read(fd, CHUNK)
                except BlockingIOError:
                    # woken with nothing to read: a writer came and went at once
                    if time.monotonic() - t0 < 1e-3:
                        time.sleep(0.01)
                    continue
                except OSError as e:
                    raise UserError(f"cannot read {name}: {e.strerror or e}") from None
                if not data:
                    break  # every writer closed it: the end
                f.write(data)
    except OSError as e:
        raise UserError(f"{name}: cannot keep a copy of the pipe ({e.strerror or e})") from None
    finally:
        if close:
            os.close(fd)
    if out.stat().st_size == 0:
        raise UserError(f"{name}: the pipe gave no data")
    return out


def _spool_path(name: str) -> Path:
    global _spool_dir
    if _spool_dir is None:
        _spool_dir = Path(tempfile.mkdtemp(prefix="pipesight-input-"))
        atexit.register(shutil.rmtree, _spool_dir, True)
    base = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name) or "input"
    out = _spool_dir / f"{len(_names)}-{base}"
    _names[str(out)] = name
    return out
