"""Bad input to `pipesight analyze`: one line on stderr, a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _analyze(path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    env.pop("PIPESIGHT_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "pipesight", "analyze", str(path)],
                          capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("name,content,says", [
    ("binary.bin", bytes(range(256)) * 64, "binary file"),
    ("empty.log", b"", "empty"),
    ("apt.log", b"Reading package lists... Done\nBuilding dependency tree... Done\n"
                b"0 upgraded, 0 newly installed, 0 to remove and 3 not upgraded.\n",
     "not a format pipesight reads"),
    ("perf_header_only.log", b"**PERF:  FPS 0 (Avg)\tFPS 1 (Avg)\t\n",
     "no readable PERF or latency prints"),
])
def test_one_line_error(tmp_path: Path, name: str, content: bytes, says: str) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    r = _analyze(p)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipesight: ") and says in lines[0]
    assert "Traceback" not in r.stderr


def test_user_text_never_runs(tmp_path: Path) -> None:
    """A Python-app PERF dict is read as text: nothing in it is evaluated."""
    marker = tmp_path / "ran"
    p = tmp_path / "evil.log"
    p.write_text("**PERF:  {'stream0': 30.0, '__import__(\"os\").system(\"touch "
                 f"{marker}\")': 1.0}}\n**PERF:  {{'stream0': 29.0}}\n")
    r = _analyze(p)
    assert r.returncode == 0, r.stderr
    assert not marker.exists()
