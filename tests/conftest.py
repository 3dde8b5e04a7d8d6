"""Shared test fixtures: the real-world corpus beside the checkout, GStreamer availability."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO.parent / "shared" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not at {CORPUS}")
    return CORPUS


def have_gst() -> bool:
    return shutil.which("gst-launch-1.0") is not None


needs_gst = pytest.mark.skipif(not have_gst(), reason="GStreamer (gst-launch-1.0) not installed")


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for a module's tests (tests/browser_cdp.py)."""
    from browser_cdp import Browser, chromium_path

    if chromium_path() is None:
        pytest.skip("chromium not installed (setup.sh --dev installs it)")
    with Browser() as b:
        yield b


@pytest.fixture(scope="session")
def lab_run(tmp_path_factory):
    """Runs a lab scenario once per session (names or renamed) and hands the same result to
    every test that asks: verdict, consistency and CPU agreement read one run."""
    from pipesight.lab import runner

    done: dict[tuple[str, bool], object] = {}

    def get(scenario, renamed: bool = False):
        key = (scenario.name, renamed)
        if key not in done:
            out = tmp_path_factory.mktemp(f"lab-{scenario.name}-{int(renamed)}") / "run"
            done[key] = runner.run(scenario, out, renamed=renamed)
        return done[key]

    return get
