"""Default run directory names: readable, and unique even for runs started in the same second
(or at the same instant by two processes)."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

RUNS = Path("pipesight-runs")
_TRIES = 20


def new_run_dir(label: str, parent: Path = RUNS) -> Path:
    """Create and return parent/DATE-TIME-LABEL-XXXX. The directory is made here with
    ``exist_ok=False``, so a name another process took first is never shared: the random
    suffix makes a clash unlikely, and the exclusive creation makes it impossible."""
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    for _ in range(_TRIES):
        path = parent / f"{stamp}-{label}-{secrets.token_hex(2)}"
        try:
            path.mkdir()
        except FileExistsError:
            continue
        return path
    raise FileExistsError(f"could not find a free run directory name under {parent}")
