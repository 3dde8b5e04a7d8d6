"""Terminal output piped (grep, CI logs) is not hard-wrapped: each sentence, quoted line and
table row stays on one line; on a terminal it still wraps to the window."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tarfile
import termios
import time
from pathlib import Path

import pytest

FIX = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def encoder_run(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("piped")
    with tarfile.open(FIX / "runs" / "lab-encoder.tar.xz") as t:
        # the "data" filter exists from 3.10.12 on
        t.extractall(tmp, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
    (run,) = [p for p in tmp.iterdir() if p.is_dir()]
    return run


def piped(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return subprocess.run([sys.executable, "-m", "pipesight", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def in_terminal(args: list[str], columns: int = 80) -> str:
    """What a user sees in a terminal ``columns`` wide (a pseudo-terminal of that size)."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["TERM"] = "dumb-but-sized"
    p = subprocess.Popen([sys.executable, "-m", "pipesight", *args], stdin=follower,
                         stdout=follower, stderr=follower, env=env, close_fds=True)
    os.close(follower)
    out = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the follower side closed
                break
            if not chunk:
                break
            out += chunk
        elif p.poll() is not None:
            break
    p.wait(timeout=10)
    os.close(leader)
    text = out.decode("utf-8", "replace").replace("\r\n", "\n")
    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # colours take no columns


def test_analyze_piped_keeps_each_line_whole(encoder_run: Path) -> None:
    r = piped("analyze", str(encoder_run))
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    summary = json.loads(piped("analyze", "--json", str(encoder_run)).stdout)[
        "bottleneck"]["summary"]
    assert len(summary) > 80
    assert summary in lines  # the whole sentence, on one line
    evidence = [ln for ln in lines if ln.startswith("Evidence: ")]
    assert len(evidence) == 1 and len(evidence[0]) > 200
    assert "queue_after_empty_pct[queue1]" in evidence[0]
    # grep finds each fix with its prediction
    fixes = [ln for ln in lines if ln.startswith("Fix: ")]
    assert fixes and all("fps" in ln for ln in fixes)
    # no line was folded: each starts as the renderer starts one
    assert max(map(len, lines)) > 80
    assert not any(ln.startswith(" ") and "fps" not in ln for ln in lines[:6])


def test_analyze_on_an_80_column_terminal_still_wraps(encoder_run: Path) -> None:
    out = in_terminal(["analyze", str(encoder_run)], columns=80)
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert lines, out
    assert max(len(ln) for ln in lines) <= 80, out
    assert any(ln.startswith("Evidence: ") for ln in lines)


def test_lab_list_piped_keeps_table_rows_whole() -> None:
    r = piped("lab", "list")
    assert r.returncode == 0, r.stderr
    rows = [ln for ln in r.stdout.splitlines() if ln.strip()]
    from pipesight.lab.scenarios import SCENARIOS

    # one row per scenario (plus the header and the rule under it): nothing folded
    for s in SCENARIOS:
        mine = [ln for ln in rows if ln.split() and ln.split()[0] == s.name]
        assert len(mine) == 1, s.name
        assert s.planted[:60] in mine[0]


def test_doctor_piped_keeps_quoted_lines_whole(tmp_path: Path) -> None:
    log = tmp_path / "gst.log"
    long_line = ("0:00:00.100000000 12345 0x5581 ERROR default gstutils.c:1234:"
                 "gst_some_function:<mysource0> " + "x" * 150)
    log.write_text("WARNING: erroneous pipeline: no element \"nosuchelement\"\n" + long_line
                   + "\n")
    r = piped("doctor", str(log))
    assert r.returncode in (0, 3), r.stderr
    lines = r.stdout.splitlines()
    assert any("nosuchelement" in ln for ln in lines)
    assert max(map(len, lines)) > 80
