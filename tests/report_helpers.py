"""Shared by the report tests: profile a gst-launch-1.0 pipeline into a run directory; tests
that open a page in headless Chromium are marked needs_chromium (the browser fixture is in
conftest)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from browser_cdp import chromium_path

needs_chromium = pytest.mark.skipif(chromium_path() is None,
                                    reason="chromium not installed (setup.sh --dev installs it)")


def profile(out: Path, pipeline: list[str], *options: str) -> Path:
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(out), *options,
                        "--", "gst-launch-1.0", *pipeline], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    return out

