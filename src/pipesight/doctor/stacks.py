"""Native stacks of a stalled process (elfutils' eu-stack) and what each thread waits for.

A wait is named from the frames that GStreamer, GLib and libc export (Debian strips the
static functions of plugins, so a queue's chain function shows only as its module,
libgstcoreelements.so): preroll, the clock, a buffer pool, a lock, a full queue, an
application that does not feed an appsrc or drain an appsink, a muxer or mixer holding a
pushed buffer until its other inputs have data (aggregator), or nothing (idle: an empty
queue, the main loop).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

_THREAD = re.compile(r"^TID (\d+):")
_FRAME = re.compile(r"^#(\d+)\s+0x[0-9a-fA-F]+\s*(?P<fn>[^\s-][^ ]*)?(?:\s+-\s+(?P<mod>\S+))?\s*$")

BLOCKING = {"g_cond_wait", "g_cond_wait_until", "pthread_cond_wait", "pthread_cond_timedwait",
            "__futex_abstimed_wait_common", "__lll_lock_wait", "syscall", "__poll", "poll",
            "ppoll", "epoll_wait", "select", "pselect", "clock_nanosleep", "nanosleep",
            "__GI___poll", "read", "recv", "recvfrom", "__pthread_mutex_lock", "pthread_mutex_lock",
            "g_mutex_lock", "g_rec_mutex_lock", "___pthread_mutex_lock", "__lll_lock_wait_private"}
LOCKS = {"__lll_lock_wait", "pthread_mutex_lock", "__pthread_mutex_lock", "g_mutex_lock",
         "g_rec_mutex_lock", "___pthread_mutex_lock", "__lll_lock_wait_private"}
PREROLL = {"gst_base_sink_wait_preroll", "gst_base_sink_do_preroll"}
CLOCK = {"gst_clock_id_wait", "gst_base_sink_wait_clock", "gst_base_sink_do_sync",
         "gst_system_clock_id_wait_jitter", "gst_clock_id_wait_async"}
POOL = {"gst_buffer_pool_acquire_buffer"}
DATA_QUEUE = {"gst_data_queue_push"}
MAIN_LOOP = {"g_main_loop_run", "g_main_context_iteration"}

# kinds of wait, in the order of how likely each is to be the cause rather than a consequence
CAUSES = ("lock", "buffer-pool", "preroll", "app-sink", "app-source", "aggregator", "clock",
          "unknown", "full-queue", "idle")


@dataclass
class Frame:
    n: int
    function: str | None
    module: str | None

    @property
    def module_name(self) -> str:
        return Path(self.module).name if self.module else "?"

    def label(self) -> str:
        return self.function or f"?? ({self.module_name})"


@dataclass
class ThreadStack:
    tid: int
    name: str | None = None
    frames: list[Frame] = field(default_factory=list)
    wait: str = "unknown"  # one of CAUSES
    detail: str = ""  # the frames that gave the wait away

    def functions(self) -> list[str]:
        return [f.function for f in self.frames if f.function]

    def top(self, n: int = 8) -> str:
        return " <- ".join(f.label() for f in self.frames[:n])


def parse(text: str, names: dict[int, str] | None = None) -> list[ThreadStack]:
    """eu-stack's output (with or without -m) into threads and frames."""
    out: list[ThreadStack] = []
    cur: ThreadStack | None = None
    for ln in text.splitlines():
        m = _THREAD.match(ln.strip())
        if m:
            tid = int(m.group(1))
            cur = ThreadStack(tid, (names or {}).get(tid))
            out.append(cur)
            continue
        m = _FRAME.match(ln.strip())
        if m and cur is not None:
            fn = m.group("fn")
            if fn is not None and fn.startswith("/"):  # a module where the name would be
                fn = None
            cur.frames.append(Frame(int(m.group(1)), fn, m.group("mod")))
    for t in out:
        classify(t)
    return out


def classify(t: ThreadStack) -> None:
    fns = t.functions()
    top = [f.function for f in t.frames[:3] if f.function]
    near = t.frames[:12]
    near_fns = {f.function for f in near if f.function}
    mods_near = [f.module_name for f in near]
    if near_fns & LOCKS or (top and top[0] in LOCKS):
        t.wait, t.detail = "lock", _first(near, LOCKS)
    elif near_fns & PREROLL:
        t.wait, t.detail = "preroll", _first(near, PREROLL)
    elif near_fns & POOL:
        t.wait, t.detail = "buffer-pool", _first(near, POOL)
    elif near_fns & CLOCK:
        t.wait, t.detail = "clock", _first(near, CLOCK)
    elif near_fns & DATA_QUEUE:
        t.wait, t.detail = "full-queue", "gst_data_queue_push (multiqueue)"
    elif set(fns) & MAIN_LOOP and not any("gst_pad_push" in (f or "") for f in fns):
        t.wait, t.detail = "idle", "main loop"
    elif _waits_in(near, "libgstapp"):
        under_sink = any(m.startswith("libgstbase") for m in mods_near) and _pushed(t)
        t.wait = "app-sink" if under_sink else "app-source"
        t.detail = "g_cond_wait in libgstapp"
    elif _waits_in(near, "libgstcoreelements"):
        if _pushed(t):
            t.wait, t.detail = "full-queue", "g_cond_wait in libgstcoreelements under gst_pad_push"
        else:
            t.wait, t.detail = "idle", "g_cond_wait in libgstcoreelements (an empty queue)"
    elif _waits_in(near, "libgstbase") and _pushed(t):
        # GstAggregator and GstCollectPads (muxers, mixers, compositors) hold a buffer pushed
        # into one sink pad until every other sink pad has data; their waits are static
        # functions of libgstbase, and the base sink's exported ones were matched above
        t.wait, t.detail = "aggregator", "g_cond_wait in libgstbase under gst_pad_push"
    else:
        t.wait, t.detail = "unknown", t.top(4)


def _first(frames: list[Frame], names: set[str]) -> str:
    return next((f.function for f in frames if f.function in names), "")


def _waits_in(frames: list[Frame], module_prefix: str) -> bool:
    """A blocking call made directly from the module."""
    for i, f in enumerate(frames[:-1]):
        if f.function in ("g_cond_wait", "g_cond_wait_until", "pthread_cond_wait"):
            caller = frames[i + 1]
            return caller.module_name.startswith(module_prefix)
    return False


def _pushed(t: ThreadStack) -> bool:
    return any(f.function in ("gst_pad_push", "gst_pad_push_list") for f in t.frames)


def read_names(pid: int) -> dict[int, str]:
    out: dict[int, str] = {}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out[int(task.name)] = (task / "comm").read_text().strip()
        except (OSError, ValueError):
            continue
    return out
