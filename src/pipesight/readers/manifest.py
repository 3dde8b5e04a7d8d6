"""RUN/manifest.json as the rest of pipesight may rely on it: a JSON object whose known keys
have the types `profile` writes. A key of the wrong type is dropped with a note (the run is
analysed without it); unknown keys are kept, made JSON-safe."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pipesight.readers.checks import MAX_I64, clean_json, is_int, is_number

MAX_BYTES = 64 << 20


def _str(v: Any) -> bool:
    return isinstance(v, str)


def _opt_str(v: Any) -> bool:
    return v is None or isinstance(v, str)


def _str_list(v: Any) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _dict(v: Any) -> bool:
    return isinstance(v, dict)


def _seconds(v: Any) -> bool:
    return v is None or is_number(v, 0.0, 1e9)


def _ns(v: Any) -> bool:
    return is_int(v, 0, MAX_I64)


def _opt_int(v: Any) -> bool:
    return v is None or is_int(v, -(1 << 31), 1 << 31)


def _host(v: Any) -> bool:
    if not isinstance(v, dict):
        return False
    return (_opt_str(v.get("hostname")) and (v.get("cpus_allowed") is None
                                             or is_int(v.get("cpus_allowed"), 0, 1 << 20))
            and (v.get("cpus") is None or is_int(v.get("cpus"), 0, 1 << 20)))


KEYS: dict[str, Callable[[Any], bool]] = {
    "command": _str_list, "command_line": _str, "environment_added": _dict,
    "tracers": _str_list, "duration_s": _seconds, "delay_s": _seconds, "host": _host,
    "notes": _str_list, "start": _str, "start_monotonic_ns": _ns, "end_monotonic_ns": _ns,
    "wall_s": _seconds, "exit_code": _opt_int, "signal": _opt_str, "ended_by": _str,
    "interrupted": lambda v: isinstance(v, bool | str), "failed": lambda v: isinstance(v, bool),
    "failure": _opt_str, "proc_samples": lambda v: is_int(v), "samplers": _dict,
    "artifacts": _str_list, "ceiling": _dict, "nsys": _dict,
    "pid": lambda v: is_int(v, 0, 1 << 31), "crashes": _str_list,
}


def read(path: Path) -> tuple[dict[str, Any], list[str]]:
    """The manifest, and notes on what of it could not be used."""
    try:
        if path.stat().st_size > MAX_BYTES:
            return {}, [f"{path.name} is too large to be a manifest; run details unknown"]
        raw = path.read_bytes()
    except OSError as e:
        return {}, [f"{path.name} cannot be read ({e.strerror}); run details unknown"]
    try:
        d = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError):
        return {}, [f"{path.name} is damaged; run details unknown"]
    return validate(d, path.name)


def validate(d: Any, name: str = "manifest.json") -> tuple[dict[str, Any], list[str]]:
    if not isinstance(d, dict):
        return {}, [f"{name} is not a JSON object; run details unknown"]
    out: dict[str, Any] = {}
    wrong: list[str] = []
    for k, v in d.items():
        check = KEYS.get(str(k))
        if check is not None and not check(v):
            wrong.append(str(k))
            continue
        out[str(k)] = clean_json(v)
    notes = [f"{name}: ignored {', '.join(sorted(wrong)[:8])} (not of the type pipesight "
             "writes)"] if wrong else []
    return out, notes
