"""verdict.json: the machine-readable answer (schema in docs/verdict-schema.md)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from pipesight.findings import Verdict


def _clean(o: Any) -> Any:
    if isinstance(o, float):
        return o if math.isfinite(o) else None
    if isinstance(o, dict):
        return {str(k): _clean(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [_clean(v) for v in o]
    if hasattr(o, "item") and callable(o.item):  # numpy scalars
        return _clean(o.item())
    return o


def dumps(v: Verdict) -> str:
    # ensure_ascii keeps every user string (element names, messages) inert and portable
    return json.dumps(_clean(v.to_dict()), indent=2, ensure_ascii=True, allow_nan=False)


def write(v: Verdict, path: Path) -> None:
    path.write_text(dumps(v) + "\n", encoding="utf-8")
