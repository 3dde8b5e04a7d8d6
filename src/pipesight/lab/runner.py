"""Runs a lab scenario under `pipesight profile` and checks the verdict against what was
planted."""

from __future__ import annotations

import secrets
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipesight.capture.runner import CaptureOptions
from pipesight.errors import UserError
from pipesight.findings import Verdict
from pipesight.lab import media
from pipesight.lab.scenarios import Scenario
from pipesight.profile import run_once


def default_names(s: Scenario) -> dict[str, str]:
    """GStreamer-like names: the factory name of the element and an index."""
    out: dict[str, str] = {}
    counts: dict[str, int] = {}
    for tok in shlex.split(s.pipeline):
        if "name={" in tok:
            key = tok.split("{", 1)[1].rstrip("}")
            out.setdefault(key, "")
    # name each placeholder after the factory that precedes it in the description
    toks = shlex.split(s.pipeline + " " + s.fixed)
    for i, tok in enumerate(toks):
        if tok.startswith("name={") and i > 0:
            key = tok[6:-1]
            if out.get(key):
                continue
            factory = toks[i - 1]
            n = counts.get(factory, 0)
            counts[factory] = n + 1
            # GStreamer's own rule: a dash before the index when the name ends in a digit
            out[key] = f"{factory}-{n}" if factory[-1].isdigit() else f"{factory}{n}"
    return out


def renamed_names(s: Scenario) -> dict[str, str]:
    """Names that say nothing about the element."""
    return {k: f"n{secrets.token_hex(3)}" for k in default_names(s)}


def command(s: Scenario, names: dict[str, str], fixed: bool = False) -> list[str]:
    values = dict(names)
    for need in s.needs:
        values[f"media_{need}"] = str(media.ensure(need))
    desc = (s.fixed if fixed else s.pipeline).format(**values)
    argv = ["gst-launch-1.0", "-e", *shlex.split(desc)]
    if s.cpus:
        if shutil.which("taskset") is None:
            raise UserError("taskset (util-linux) is needed to pin this scenario to CPUs")
        argv = ["taskset", "-c", ",".join(map(str, s.cpus)), *argv]
    return argv


@dataclass
class LabResult:
    scenario: Scenario
    verdict: Verdict
    run_dir: Path
    names: dict[str, str]
    expected_element: str | None
    ok: bool
    why: str


def run(s: Scenario, out: Path | None = None, renamed: bool = False, fixed: bool = False,
        duration_s: float | None = None) -> LabResult:
    names = renamed_names(s) if renamed else default_names(s)
    argv = command(s, names, fixed)
    run_dir = out or Path(tempfile.mkdtemp(prefix=f"pipesight-lab-{s.name}-")) / "run"
    opts = CaptureOptions(duration_s=duration_s or s.duration_s, delay_s=s.delay_s)
    v, _ = run_once(argv, run_dir, opts)
    expected = names.get(s.expect_element) if s.expect_element else None
    ok, why = check(s, v, expected) if not fixed else (True, "fixed variant: no expectation")
    return LabResult(s, v, run_dir, names, expected, ok, why)


def check(s: Scenario, v: Verdict, expected_element: str | None) -> tuple[bool, str]:
    b = v.bottleneck
    if b.kind != s.expect_kind:
        return False, f"expected kind {s.expect_kind}, got {b.kind}"
    if expected_element is not None and b.element != expected_element:
        return False, f"expected element {expected_element}, got {b.element}"
    return True, f"{b.kind} {b.element or ''} ({b.confidence}) as planted".replace("  ", " ")
