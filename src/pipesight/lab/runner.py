"""Runs a lab scenario under `pipesight profile` and checks the verdict against what was
planted."""

from __future__ import annotations

import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipesight.capture.runner import CaptureOptions
from pipesight.errors import UserError
from pipesight.findings import Verdict
from pipesight.lab import media
from pipesight.lab.scenarios import Scenario
from pipesight.workflows.profile import run_once


def default_names(s: Scenario) -> dict[str, str]:
    """GStreamer-like names: the factory name of the element and an index."""
    out: dict[str, str] = {}
    counts: dict[str, int] = {}
    for tok in shlex.split(s.pipeline):
        if "name={" in tok:
            key = tok.split("{", 1)[1].rstrip("}")
            out.setdefault(key, "")
    # name each placeholder after the factory that precedes it in the description
    toks = shlex.split(" ".join([s.pipeline, s.fixed, *(v.pipeline for v in s.variants)]))
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


def command(s: Scenario, names: dict[str, str], fixed: bool = False,
            variant: str | None = None, frames: int | None = None) -> list[str]:
    """The command line of the planted pipeline, its fixed variant, or the variant that applies
    the verdict's fix ``variant``; ``frames`` bounds the run (ground truth)."""
    values = dict(names)
    for need in s.needs:
        if need == "pygobject":
            _need_pygobject()
        else:
            values[f"media_{need}"] = str(media.ensure(need))
    desc, args = s.pipeline, s.app_args
    if variant is not None:
        v = s.variant(variant)
        if v is None:
            raise UserError(f"lab scenario {s.name} has no variant {variant!r} (it has: "
                            f"{', '.join(x.action for x in s.variants) or 'none'})")
        desc, args = v.pipeline, v.app_args if v.app_args is not None else s.app_args
    elif fixed:
        desc, args = s.fixed, s.fixed_args if s.fixed_args is not None else s.app_args
    desc = desc.format(**values)
    args = tuple(a.format(**values) for a in args)
    if frames is not None:
        # every test source stops after `frames`; an application bounds its own feed
        desc = re.sub(r"\bvideotestsrc\b", f"videotestsrc num-buffers={frames}", desc)
        if s.frames_arg:
            args = (*args, s.frames_arg, str(frames))
    if s.app:
        argv = [sys.executable, "-m", f"pipesight.lab.apps.{s.app}", "--pipeline", desc, *args]
    else:
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
        duration_s: float | None = None, variant: str | None = None) -> LabResult:
    names = renamed_names(s) if renamed else default_names(s)
    argv = command(s, names, fixed, variant)
    run_dir = out or Path(tempfile.mkdtemp(prefix=f"pipesight-lab-{s.name}-")) / "run"
    opts = CaptureOptions(duration_s=duration_s or s.duration_s, delay_s=s.delay_s,
                          show_output=False)
    v, _ = run_once(argv, run_dir, opts)
    expected = None
    if s.expect_element:
        # a placeholder, or a template of them (a pad probe: probe@{ident}.sink)
        expected = s.expect_element.format(**names) if "{" in s.expect_element else \
            names.get(s.expect_element)
    if expected is None and s.expect_factory:
        # inside a bin the element keeps its own name: find it by its factory
        expected = next((r.name for r in v.elements if r.type == s.expect_factory), None)
    if fixed or variant:
        ok, why = True, "fixed variant: no expectation"
    else:
        ok, why = check(s, v, expected)
    return LabResult(s, v, run_dir, names, expected, ok, why)


_ENDED = re.compile(r"Execution ended after (\d+):(\d+):(\d+\.\d+)")
FILE_FRAMES = 900  # the frames of lab/media.py's h264_mp4, which a file source plays whole


def uninstrumented_fps(s: Scenario, fixed: bool, frames: int | None = None) -> float:
    """The planted pipeline's (or its fix's) throughput with no tracer: frames over the time
    from PLAYING to EOS as gst-launch-1.0 (or the scenario's application) reports it. Where
    frames are dropped on the way (``gt_method="profile"``) the sinks' rate comes from
    pipesight profile instead."""
    if s.gt_method == "profile":
        res = run(s, Path(tempfile.mkdtemp()) / "run", fixed=fixed)
        return float(res.verdict.throughput_fps or 0.0)
    names = default_names(s)
    if "location=" in s.pipeline:
        argv, frames = command(s, names, fixed), FILE_FRAMES
    else:
        frames = frames or s.gt_frames
        argv = command(s, names, fixed, frames=frames)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    m = _ENDED.search(r.stdout)
    if r.returncode != 0 or not m:
        raise RuntimeError(f"{s.name} {'fixed' if fixed else 'planted'} failed: {r.stderr[-300:]}")
    secs = int(m.group(1)) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
    return frames / secs


def _need_pygobject() -> None:
    try:
        import gi

        gi.require_version("Gst", "1.0")
    except (ImportError, ValueError) as e:
        raise UserError("this lab scenario needs PyGObject (pip install 'pipesight[gst]', with "
                        f"libgirepository1.0-dev and libcairo2-dev from apt): {e}") from None


def check(s: Scenario, v: Verdict, expected_element: str | None) -> tuple[bool, str]:
    b = v.bottleneck
    if b.kind != s.expect_kind:
        return False, f"expected kind {s.expect_kind}, got {b.kind}"
    if s.expect_factory and expected_element is None:
        return False, f"no element of factory {s.expect_factory} moved buffers"
    if expected_element is not None and b.element != expected_element:
        return False, f"expected element {expected_element}, got {b.element}"
    return True, f"{b.kind} {b.element or ''} ({b.confidence}) as planted".replace("  ", " ")
