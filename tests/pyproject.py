"""pyproject.toml read for the tests: tomllib where Python has it (3.11+), tomli before."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib  # novm: guarded by the version check above
else:
    import tomli as tomllib

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def load() -> dict[str, Any]:
    with open(PYPROJECT, "rb") as f:
        return tomllib.load(f)
