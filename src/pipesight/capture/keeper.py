"""The process between pipesight and the profiled command: it owns the command's whole process
tree. Run as a script (``python -I keeper.py STATUS_FD PARENT_PID -- COMMAND...``), standard
library only, so it starts in milliseconds.

- It is the tree's subreaper (PR_SET_CHILD_SUBREAPER): a process whose parent exits (a
  background job, ``nohup``, ``setsid``, a daemon's double fork) becomes its child instead of
  init's, so it stays in the tree pipesight stops, and its exit status is seen here.
- It starts the command in a process group of its own with the default action for the signals
  pipesight stops it with (a shell that started pipesight in the background leaves SIGINT
  ignored, and ignored signals survive exec).
- It writes one JSON line per event to STATUS_FD: ``started`` (the command's pid) or
  ``spawn-error``, then ``exit`` for every process it reaps, with the wait status decoded.
- It exits when it has no child left. When pipesight dies (PR_SET_PDEATHSIG) or sends it
  SIGTERM, it kills the whole tree with SIGKILL first, so nothing runs on unattended.

It ignores SIGINT, SIGHUP and SIGQUIT itself: the stop sequence is pipesight's to run.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# signals the command gets back at their default action
_DEFAULTS = (signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGHUP, signal.SIGPIPE,
             signal.SIGUSR1, signal.SIGUSR2)

_killing = False


def _status_fields(status: int) -> dict[str, object]:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return {"signal": name, "core": bool(os.WCOREDUMP(status))}
    return {"code": os.WEXITSTATUS(status)}


def _comm(pid: int) -> str | None:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], list(children.get(root, []))
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def _kill_tree(signum: int, frame: object) -> None:
    global _killing
    _killing = True
    me = os.getpid()
    # twice: a process may fork between the scan and the kill
    for _ in range(2):
        for pid in _descendants(me):
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)


def _ignore(signum: int, frame: object) -> None:
    # a handler rather than SIG_IGN: the command's exec resets handlers, not ignored signals
    pass


def main(argv: list[str]) -> int:
    status_fd, parent = int(argv[1]), int(argv[2])
    cmd = argv[4:] if argv[3:4] == ["--"] else argv[3:]
    out = os.fdopen(status_fd, "w", buffering=1)

    def say(**rec: object) -> None:
        with contextlib.suppress(OSError, ValueError):  # pipesight is gone: keep reaping
            out.write(json.dumps(rec) + "\n")

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    signal.signal(signal.SIGTERM, _kill_tree)
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, _ignore)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # pipesight died before the line above took effect
        return 1
    try:
        pid = os.posix_spawnp(cmd[0], cmd, dict(os.environ), setpgroup=0,
                              setsigdef=_DEFAULTS, setsigmask=())
    except OSError as e:
        say(event="spawn-error", errno=e.errno, error=e.strerror or str(e))
        return 127
    say(event="started", pid=pid, pgid=pid)
    # the command's output goes straight to pipesight: no copy of those pipes stays here, so
    # they close when the last process of the tree that holds them ends
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    while True:
        try:
            # look before reaping: a zombie still has its name
            info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOWAIT)
        except ChildProcessError:
            break
        if info is None:
            continue
        comm = _comm(info.si_pid)
        try:
            child, status = os.waitpid(info.si_pid, 0)
        except ChildProcessError:
            continue
        say(event="exit", pid=child, comm=comm, main=child == pid, **_status_fields(status))
        if _killing:
            _kill_tree(signal.SIGKILL, None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
