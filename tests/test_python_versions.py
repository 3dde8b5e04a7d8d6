"""The oldest Python pyproject.toml admits (3.10: DeepStream 7.1 on Ubuntu 22.04) can run every
source: each file parses as that version's grammar, vermin finds no newer standard-library API
(datetime.UTC, tomllib, typing.Self, StrEnum, ExceptionGroup, ...), and ruff is set to the same
version. The suite itself is also run under a 3.10 interpreter (docs/platforms.md)."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pyproject import PYPROJECT, load

ROOT = PYPROJECT.parent
CODE_DIRS = ("src", "tests", "bench", "scripts")
OLDEST = (3, 10)


def _sources() -> list[Path]:
    return sorted(p for d in CODE_DIRS for p in (ROOT / d).rglob("*.py")
                  if ".venv" not in p.parts)


def test_pyproject_and_ruff_name_the_same_oldest_python() -> None:
    cfg = load()
    m = re.fullmatch(r">=\s*(\d+)\.(\d+)", cfg["project"]["requires-python"].strip())
    assert m, cfg["project"]["requires-python"]
    assert (int(m.group(1)), int(m.group(2))) == OLDEST
    assert cfg["tool"]["ruff"]["target-version"] == f"py{OLDEST[0]}{OLDEST[1]}"


def test_every_source_parses_as_the_oldest_python() -> None:
    bad = []
    for p in _sources():
        try:
            ast.parse(p.read_text("utf-8"), str(p), feature_version=OLDEST)
        except SyntaxError as e:
            bad.append(f"{p.relative_to(ROOT)}:{e.lineno}: {e.msg}")
    assert bad == []


def test_no_standard_library_api_newer_than_the_oldest_python() -> None:
    exe = shutil.which("vermin", path=str(Path(sys.executable).parent)) or shutil.which("vermin")
    if exe is None:
        pytest.fail("vermin is not installed: pip install -e '.[dev]'")
    target = f"{OLDEST[0]}.{OLDEST[1]}"
    r = subprocess.run([exe, "--no-tips", "--violations", f"-t={target}-", "--eval-annotations",
                        *[str(ROOT / d) for d in CODE_DIRS]],
                       capture_output=True, text=True, timeout=300)
    found = [ln for ln in r.stdout.splitlines() if "requires" in ln]
    assert r.returncode == 0 and found == [], r.stdout[-3000:]


def test_vermin_catches_a_newer_api(tmp_path: Path) -> None:
    """The check above can fail: a planted datetime.UTC is reported."""
    exe = shutil.which("vermin", path=str(Path(sys.executable).parent)) or shutil.which("vermin")
    assert exe is not None
    (tmp_path / "new.py").write_text("from datetime import UTC\nprint(UTC)\n")
    r = subprocess.run([exe, "--no-tips", "--violations", "-t=3.10-", str(tmp_path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "UTC" in r.stdout
