"""Loaded by Python processes that `pipesight profile` starts (this folder is put first on
PYTHONPATH): times the application's PyGObject callbacks, its pad probes (Gst.Pad.add_probe)
and signal handlers (GObject.Object.connect: appsink's new-sample, bus watches...), so that a
probe's or an element's time can be split by the Python function that spent it.

Each call becomes one record in $PIPESIGHT_TRACE_DIR/pycb-PID.bin: kernel thread id, start
and end on CLOCK_MONOTONIC, the thread's CPU time at both, and the callback's number, whose
name (function, file:line, what it is attached to) is a line of pycb-PID.jsonl. Records are
written in blocks and at exit: a crash loses the last block.

Nothing runs unless PIPESIGHT_TRACE_DIR is set; then the next sitecustomize on the path (the
user's own) is loaded too.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import threading
import time
from array import array
from typing import Any

_DIR = os.environ.get("PIPESIGHT_TRACE_DIR")
_HERE = os.path.dirname(os.path.abspath(__file__))
_BLOCK = 4096


class _Log:
    """The files are made at the first callback: processes that never attach one (a build
    tool's workers, say) leave nothing behind."""

    def __init__(self, d: str) -> None:
        self.dir = d
        self.bin: Any = None
        self.defs: Any = None
        self.buf = array("q")
        self.lock = threading.Lock()
        self.names: dict[str, int] = {}
        atexit.register(self.flush)

    def name(self, text: str) -> int:
        with self.lock:
            if self.defs is None:
                pid = os.getpid()
                self.bin = open(os.path.join(self.dir, f"pycb-{pid}.bin"), "ab")  # noqa: SIM115
                self.defs = open(os.path.join(self.dir, f"pycb-{pid}.jsonl"), "a")  # noqa: SIM115
            i = self.names.get(text)
            if i is None:
                i = self.names[text] = len(self.names) + 1
                self.defs.write(json.dumps({"id": i, "name": text}) + "\n")
                self.defs.flush()
            return i

    def add(self, tid: int, t0: int, t1: int, c0: int, c1: int, nid: int) -> None:
        with self.lock:
            self.buf.extend((tid, t0, t1, c0, c1, nid))
            if len(self.buf) >= 6 * _BLOCK:
                self._write()

    def _write(self) -> None:
        self.bin.write(self.buf.tobytes())
        self.bin.flush()
        del self.buf[:]

    def flush(self) -> None:
        with self.lock:
            if self.buf and self.bin is not None:
                self._write()


def _where(fn: object) -> str:
    code = getattr(fn, "__code__", None)
    name = getattr(fn, "__qualname__", None) or repr(fn)
    if code is None:
        return str(name)
    return f"{name} ({os.path.basename(code.co_filename)}:{code.co_firstlineno})"


def _label(obj: object) -> str:
    try:
        name = obj.get_name()  # type: ignore[attr-defined]
        parent = obj.get_parent()  # type: ignore[attr-defined]
        if parent is not None and hasattr(parent, "get_name"):
            return f"{parent.get_name()}.{name}"
        return str(name)
    except Exception:
        return type(obj).__name__


def _timed(log: _Log, fn, what: str):  # type: ignore[no-untyped-def]
    nid = log.name(what)
    mono, tcpu, tid = time.monotonic_ns, time.thread_time_ns, threading.get_native_id

    def call(*a, **k):  # type: ignore[no-untyped-def]
        t0, c0 = mono(), tcpu()
        try:
            return fn(*a, **k)
        finally:
            log.add(tid(), t0, mono(), c0, tcpu(), nid)

    call.__wrapped__ = fn  # type: ignore[attr-defined]
    return call


def _patch(log: _Log) -> None:
    from gi.repository import GObject, Gst

    add_probe = Gst.Pad.add_probe
    connect = GObject.Object.connect

    def timed_add_probe(self, mask, callback, *data):  # type: ignore[no-untyped-def]
        return add_probe(self, mask, _timed(log, callback, f"probe on {_label(self)}: "
                                                           f"{_where(callback)}"), *data)

    def timed_connect(self, signal, handler, *data):  # type: ignore[no-untyped-def]
        return connect(self, signal, _timed(log, handler, f"{_label(self)}::{signal}: "
                                                          f"{_where(handler)}"), *data)

    Gst.Pad.add_probe = timed_add_probe
    GObject.Object.connect = timed_connect


class _AfterGst:
    """Patches as soon as the application imports gi.repository.Gst."""

    def __init__(self, log: _Log) -> None:
        self.log, self.done = log, False

    def find_spec(self, name, path=None, target=None):  # type: ignore[no-untyped-def]
        if self.done or name != "gi.repository.Gst":
            return None
        self.done = True
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return None
        loader, log = spec.loader, self.log

        class Loader:
            def create_module(self, s):  # type: ignore[no-untyped-def]
                return loader.create_module(s)

            def exec_module(self, m):  # type: ignore[no-untyped-def]
                loader.exec_module(m)
                try:
                    sys.modules[name] = m
                    _patch(log)
                except Exception as e:
                    print(f"pipesight: Python callbacks not timed ({e})", file=sys.stderr)

        spec.loader = Loader()  # type: ignore[assignment]
        return spec


def _chain() -> None:
    """Load the sitecustomize that this one hides (the user's), if any."""
    rest = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", rest)
    if spec is not None and spec.loader is not None:
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)


if _DIR and os.path.isdir(_DIR):
    with contextlib.suppress(OSError):
        sys.meta_path.insert(0, _AfterGst(_Log(_DIR)))
_chain()
