"""Shared test fixtures: the real-world corpus beside the checkout, GStreamer availability."""

from __future__ import annotations

import contextlib
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


# ---------------------------------------------------------------- no process left behind

# every process profile and doctor start carries these in its environment, pointing into the
# run directory: a test's run directories are under pytest's base temporary directory
_MARKERS = (b"PIPESIGHT_TRACE_DIR=", b"GST_DEBUG_FILE=")
LEFT_BEHIND_WAIT_S = 10.0


def processes_under(base: str) -> list[tuple[int, str]]:
    """(pid, name) of every process whose environment points into ``base``."""
    import os

    me = os.getpid()
    out = []
    prefix = base.encode()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read().split(b"\0")
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            continue  # already dead, its parent has not looked yet
        if any(e.startswith(m) and e[len(m):].startswith(prefix) for e in env for m in _MARKERS):
            out.append((int(name), stat.split("(", 1)[1].rsplit(")", 1)[0]))
    return out


@pytest.fixture(autouse=True)
def no_process_left_behind(tmp_path_factory):
    """Fails a test after which a process it profiled or doctored still runs (and stops it)."""
    import os
    import signal
    import time

    yield
    base = str(tmp_path_factory.getbasetemp())
    deadline = time.monotonic() + LEFT_BEHIND_WAIT_S  # a killed pipesight's keeper cleans up
    left = processes_under(base)
    while left and time.monotonic() < deadline:
        time.sleep(0.2)
        left = processes_under(base)
    for pid, _ in left:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    assert not left, f"processes left running after the test: {left}"
