"""Checks every reader applies to the values it reads, so that what reaches the model has the
type and range the rest of pipesight relies on: a value that fails is skipped (and counted),
never passed on to fail later as an internal error."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_ID = (1 << 24) - 1  # element, pad and name ids: GStreamer numbers them from 0 in order
MAX_I64 = (1 << 63) - 1
MAX_U32 = (1 << 32) - 1
MAX_U64 = (1 << 64) - 1
MAX_DEPTH = 32  # JSON nesting kept from a user's file


def is_int(v: Any, lo: int = 0, hi: int = MAX_I64) -> bool:
    """An integer (not a bool) in [lo, hi]."""
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v <= hi


def is_id(v: Any) -> bool:
    return is_int(v, 0, MAX_ID)


def is_number(v: Any, lo: float = -math.inf, hi: float = math.inf) -> bool:
    """A finite int or float (not a bool) in [lo, hi]."""
    if isinstance(v, bool) or not isinstance(v, int | float):
        return False
    try:
        x = float(v)
    except OverflowError:  # an int beyond any float
        return False
    return math.isfinite(x) and lo <= x <= hi


def number_or_nan(v: Any) -> float:
    """A finite number as a float; NaN for anything else (NaN is "not measured" in series)."""
    return float(v) if is_number(v) else math.nan


def json_object(line: str | bytes) -> dict[str, Any] | None:
    """One JSON line that is an object; None when it is not."""
    try:
        d = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return None
    return d if isinstance(d, dict) else None


def clean_json(v: Any, depth: int = 0) -> Any:
    """A JSON value from a user's file made safe to carry into a verdict: non-finite numbers
    become None (JSON has none), nesting past MAX_DEPTH is dropped, keys become strings."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, int) and not isinstance(v, bool) and abs(v) > MAX_U64:
        return None  # no GStreamer property or counter holds it; no float either
    if isinstance(v, dict):
        return {str(k): clean_json(x, depth + 1) for k, x in v.items()}
    if isinstance(v, list):
        return [clean_json(x, depth + 1) for x in v]
    return v


def text(v: Any, default: str = "") -> str:
    """A string field; ``default`` for anything else."""
    return v if isinstance(v, str) else default


def db_error(e: BaseException, limit: int = 160) -> str:
    """SQLite's message about a damaged file, short: it can quote the file's own schema text
    (a damaged one holds anything), so only its start, on one line."""
    msg = " ".join(str(e).split())
    return msg if len(msg) <= limit else msg[: limit - 1] + "…"
