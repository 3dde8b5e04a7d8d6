"""The profiled command's whole process tree, as pipesight sees and stops it.

The command runs under the keeper (capture/keeper.py), its subreaper: every process the command
starts stays below the keeper even when its parent exits, so the tree is "the keeper's
descendants". Signals go to each process through a pidfd opened while the process is still in
the tree, so a pid reused by an unrelated process is never signalled.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from pipesight.errors import UserError

KEEPER = Path(__file__).resolve().with_name("keeper.py")
START_TIMEOUT_S = 30.0
POLL_S = 0.05


def parents() -> dict[int, int]:
    """pid -> parent pid of every process on the machine."""
    out: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                out[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return out


def below(root: int, ppid: dict[int, int] | None = None) -> list[int]:
    """Every process below ``root`` (not ``root`` itself), parents before children."""
    ppid = parents() if ppid is None else ppid
    children: dict[int, list[int]] = {}
    for pid, parent in ppid.items():
        children.setdefault(parent, []).append(pid)
    out: list[int] = []
    todo = sorted(children.get(root, []))
    while todo:
        p = todo.pop(0)
        out.append(p)
        todo.extend(sorted(children.get(p, [])))
    return out


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return "?"


def state(pid: int) -> str | None:
    """The process's state letter (R, S, D, Z, ...), None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


@dataclass
class Exit:
    pid: int
    comm: str | None
    main: bool
    code: int | None = None
    signal: str | None = None
    core: bool = False

    def describe(self) -> str:
        how = f"killed by {self.signal}" if self.signal else f"exited with status {self.code}"
        return f"process {self.pid} ({self.comm or '?'}) {how}"


@dataclass
class Signalled:
    """What pipesight sent to which process while stopping the tree."""

    sent: dict[int, list[str]] = field(default_factory=dict)  # pid -> signal names in order
    names: dict[int, str] = field(default_factory=dict)

    def add(self, pid: int, sig: signal.Signals) -> None:
        self.sent.setdefault(pid, []).append(sig.name)


class ProcessTree:
    """Start with ``start``; ``main_pid`` is the command, ``pids()`` the tree now."""

    def __init__(self) -> None:
        self.keeper: subprocess.Popen | None = None
        self.main_pid = 0
        self.exits: list[Exit] = []
        self.main_exit: Exit | None = None
        self.main_done = threading.Event()
        self.signalled = Signalled()
        self._status: IO[str] | None = None
        self._reader: threading.Thread | None = None

    # ---------------------------------------------------------------- start

    def start(self, argv: list[str], env: dict[str, str], stdout: Any, stderr: Any) -> None:
        r, w = os.pipe()
        try:
            self.keeper = subprocess.Popen(
                [sys.executable, "-I", str(KEEPER), str(w), str(os.getpid()), "--", *argv],
                env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, pass_fds=(w,),
                start_new_session=True)
        except OSError as e:
            os.close(r)
            raise UserError(f"cannot start {argv[0]}: {e.strerror}", exit_code=127) from None
        finally:
            os.close(w)
        self._status = os.fdopen(r, "r")
        first = self._first_line()
        if first.get("event") == "spawn-error":
            self.keeper.wait()
            raise UserError(f"cannot start {argv[0]}: {first.get('error')}", exit_code=127)
        if first.get("event") != "started":
            self.keeper.kill()
            self.keeper.wait()
            raise UserError(f"cannot start {argv[0]}: pipesight's process keeper did not "
                            "start it")
        self.main_pid = int(first["pid"])
        self.signalled.names[self.main_pid] = comm(self.main_pid)
        self._reader = threading.Thread(target=self._read, name="pipesight-keeper", daemon=True)
        self._reader.start()

    def _first_line(self) -> dict[str, Any]:
        import select

        assert self._status is not None
        ready, _, _ = select.select([self._status], [], [], START_TIMEOUT_S)
        line = self._status.readline() if ready else ""
        try:
            d = json.loads(line)
        except json.JSONDecodeError:
            return {}
        return d if isinstance(d, dict) else {}

    def _read(self) -> None:
        assert self._status is not None
        for line in self._status:
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                continue
            if d.get("event") != "exit":
                continue
            e = Exit(int(d["pid"]), d.get("comm"), bool(d.get("main")), d.get("code"),
                     d.get("signal"), bool(d.get("core")))
            self.exits.append(e)
            if e.main:
                self.main_exit = e
                self.main_done.set()
        # the keeper is gone: so is the command, whatever the keeper could say
        self.main_done.set()

    # ---------------------------------------------------------------- looking

    def pids(self) -> list[int]:
        """The tree now: every live process below the keeper."""
        if self.keeper is None:
            return []
        return [p for p in below(self.keeper.pid) if state(p) not in (None, "Z")]

    @property
    def keeper_pid(self) -> int:
        return self.keeper.pid if self.keeper is not None else 0

    def wait_main(self, timeout: float | None) -> bool:
        return self.main_done.wait(timeout)

    def wait_empty(self, timeout: float) -> bool:
        """Wait until every process of the tree has ended (the keeper exits then)."""
        assert self.keeper is not None
        try:
            self.keeper.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        if self._reader is not None:
            self._reader.join(timeout=5)
        return True

    # ---------------------------------------------------------------- signalling

    def send(self, sig: signal.Signals, pids: list[int] | None = None) -> list[int]:
        """``sig`` to each process of the tree (or of ``pids`` still in it); returns those
        reached."""
        tree = set(self.pids())
        reached = []
        for pid in (pids if pids is not None else sorted(tree)):
            if pid not in tree:
                continue
            try:
                fd = os.pidfd_open(pid)
            except OSError as e:
                if e.errno == errno.ENOSYS and self._kill(pid, sig):
                    reached.append(pid)
                continue
            try:
                # the pidfd pins this very process: check it is still ours, then signal it
                if self._in_tree(pid):
                    signal.pidfd_send_signal(fd, sig)
                    reached.append(pid)
                    self._sent(pid, sig)
            except OSError:
                pass
            finally:
                os.close(fd)
        return reached

    def _kill(self, pid: int, sig: signal.Signals) -> bool:
        """Without pidfds (kernels before 5.3, as JetPack 4's 4.9): the same check, then a
        plain kill, which could reach a process that took a recycled PID in between."""
        if not self._in_tree(pid):
            return False
        try:
            os.kill(pid, sig)
        except OSError:
            return False
        self._sent(pid, sig)
        return True

    def _sent(self, pid: int, sig: signal.Signals) -> None:
        self.signalled.add(pid, sig)
        self.signalled.names.setdefault(pid, comm(pid))

    def _in_tree(self, pid: int) -> bool:
        p = pid
        for _ in range(256):
            try:
                with open(f"/proc/{p}/stat") as f:
                    p = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                return False
            if p == self.keeper_pid:
                return True
            if p <= 1:
                return False
        return False

    def interrupt(self) -> list[int]:
        """SIGINT to the command's process group, as Ctrl-C in a terminal sends it, and to every
        other process of the tree (those that left the group: setsid, daemons)."""
        with contextlib.suppress(OSError):
            os.killpg(self.main_pid, signal.SIGINT)
        in_group = [p for p in self.pids() if _pgid(p) == self.main_pid]
        for p in in_group:
            self.signalled.add(p, signal.SIGINT)
            self.signalled.names.setdefault(p, comm(p))
        others = [p for p in self.pids() if p not in in_group]
        return in_group + self.send(signal.SIGINT, others)

    def close(self) -> None:
        if self._status is not None:
            with contextlib.suppress(OSError):
                self._status.close()


def _pgid(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except OSError:
        return None


def wait_until(cond: Any, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if cond():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_S)
