"""NVTX ranges and OS thread names for the lab pipeline, so Nsight Systems shows each stage
under its DeepStream plugin name on its own named thread. Both are no-ops without CUDA."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
from collections.abc import Iterator

_PR_SET_NAME = 15
_libc: ctypes.CDLL | None = None


def set_thread_name(name: str) -> None:
    """Names the calling OS thread (what nsys and /proc show; 15 bytes at most)."""
    global _libc
    try:
        if _libc is None:
            _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        _libc.prctl(_PR_SET_NAME, ctypes.c_char_p(name.encode()[:15]), 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Ranges:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        if enabled:
            import torch.cuda.nvtx as nvtx

            self._push, self._pop = nvtx.range_push, nvtx.range_pop

    @contextlib.contextmanager
    def range(self, name: str) -> Iterator[None]:
        if not self.enabled:
            yield
            return
        self._push(name)
        try:
            yield
        finally:
            self._pop()
