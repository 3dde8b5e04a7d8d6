"""The application's Python callbacks inside the window: how long each took, on which thread,
and inside which element's or pad probe's time (the innermost frame of the tracer that holds
the call), so that a probe or an appsink can be split by the function that spent it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipesight.metrics.window import Window
from pipesight.trace import Trace


@dataclass
class CallbackUse:
    name: str  # "probe on q.src: f (app.py:12)"
    thread: int
    element: int  # the element or probe whose time holds it, -1 outside every push
    calls: int
    wall_ns: int
    cpu_ns: int


def callback_use(trace: Trace, w: Window) -> list[CallbackUse]:
    cb = trace.callbacks
    if cb is None or not len(cb):
        return []
    sel = w.contains(cb.start)
    if not sel.any():
        return []
    th, s, e = cb.thread[sel], cb.start[sel], cb.end[sel]
    owner = _holders(trace, th, s, e)
    key = (owner.astype(np.int64) + 1) * 1_000_003 * 65_536 + th.astype(np.int64) * 65_536 \
        + cb.name[sel].astype(np.int64)
    uk, inv = np.unique(key, return_inverse=True)
    wall = np.bincount(inv, weights=(e - s).astype(float))
    cpu = np.bincount(inv, weights=cb.cpu[sel].astype(float))
    calls = np.bincount(inv)
    out = []
    for i, k in enumerate(uk.tolist()):
        rest, name = divmod(k, 65_536)
        own, t = divmod(rest, 1_000_003)
        out.append(CallbackUse(cb.names[name], int(t), int(own) - 1, int(calls[i]),
                               int(wall[i]), int(cpu[i])))
    out.sort(key=lambda u: -u.wall_ns)
    return out


def _holders(trace: Trace, th: np.ndarray, s: np.ndarray, e: np.ndarray) -> np.ndarray:
    """For each call, the element of the innermost tracer frame on its thread that holds it."""
    fr = trace.frames
    out = np.full(s.shape[0], -1, np.int32)
    if fr is None or not len(fr) or fr.parent.shape[0] != len(fr):
        return out
    for t in np.unique(th).tolist():
        mine = np.flatnonzero(th == t)
        fi = np.flatnonzero(fr.thread == t)
        if not fi.shape[0]:
            continue
        order = fi[np.argsort(fr.start[fi], kind="stable")]
        starts = fr.start[order]
        f = order[np.maximum(np.searchsorted(starts, s[mine], side="right") - 1, 0)]
        f = np.where(starts[0] <= s[mine], f, -1)
        # climb out of frames that ended before the call did (siblings before it)
        for _ in range(64):
            bad = (f >= 0) & (fr.end[np.maximum(f, 0)] < e[mine])
            if not bad.any():
                break
            f = np.where(bad, fr.parent[np.maximum(f, 0)], f)
        out[mine] = np.where(f >= 0, fr.element[np.maximum(f, 0)], -1)
    return out
