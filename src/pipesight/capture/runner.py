"""Runs a command instrumented and writes a run directory that is never edited afterwards
(analyses write their own files beside the captured ones)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipesight import __version__
from pipesight.capture import host
from pipesight.capture import nsys as nsys_capture
from pipesight.capture.environment import DEFAULT_TRACERS, traced_env
from pipesight.capture.hw_samplers import start_hw_samplers
from pipesight.capture.proc_sampler import ProcSampler
from pipesight.errors import UserError
from pipesight.tracer.build import plugin_dir

GRACE_S = 10.0  # after SIGINT, time to reach EOS and exit before SIGTERM
KILL_AFTER_S = 3.0


@dataclass
class CaptureOptions:
    duration_s: float | None = None
    delay_s: float = 0.0
    grace_s: float = GRACE_S
    tracers: list[str] = field(default_factory=lambda: list(DEFAULT_TRACERS))
    sample_interval_s: float = 0.1
    quiet: bool = False
    # GST_DEBUG categories to add (e.g. doctor's GST_STATES:4) and the threshold used when the
    # user set none
    extra_debug: list[str] = field(default_factory=list)
    default_debug: str = "2"
    # polled while the command runs: a returned reason stops it (e.g. doctor's hang watch)
    watch: Callable[[subprocess.Popen], str | None] | None = None
    # called when the command ignored the interrupt, before it is terminated
    on_hung: Callable[[subprocess.Popen], None] | None = None
    poll_s: float = 0.25
    nsys: bool = False  # run under Nsight Systems (capture/nsys.py)
    nsys_args: str | None = None  # extra `nsys profile` options
    nvtx: bool = False  # the tracer also emits an NVTX range per push and probe span
    manifest_extra: dict[str, Any] = field(default_factory=dict)  # e.g. the model's ceiling


@dataclass
class CaptureResult:
    run_dir: Path
    manifest: dict[str, Any]

    @property
    def failed(self) -> bool:
        return bool(self.manifest.get("failed"))


def _gst_launch_with_eos(cmd: list[str]) -> list[str]:
    """gst-launch-1.0 sends EOS on SIGINT only with -e: add it so the trace ends cleanly. And
    without --no-fault, a crashing gst-launch-1.0 spins forever waiting for a debugger instead
    of ending with its signal."""
    if not cmd or not Path(cmd[0]).name.startswith("gst-launch"):
        return cmd
    extra = []
    if not any(a in ("-e", "--eos-on-shutdown") for a in cmd[1:]):
        extra.append("-e")
    if not any(a in ("-f", "--no-fault") for a in cmd[1:]):
        extra.append("--no-fault")
    return [cmd[0], *extra, *cmd[1:]]


def capture(cmd: list[str], run_dir: Path, opts: CaptureOptions) -> CaptureResult:
    if not cmd:
        raise UserError("no command given: pipesight profile [options] -- COMMAND [ARGS...]")
    exe = shutil.which(cmd[0])
    if exe is None:
        raise UserError(f"command not found: {cmd[0]}", exit_code=127)
    if run_dir.exists() and (not run_dir.is_dir() or any(run_dir.iterdir())):
        raise UserError(f"{run_dir} already exists and is not empty: a run directory is never "
                        "overwritten; choose another with -o")
    run_dir.mkdir(parents=True, exist_ok=True)
    for sub in ("dot", "trace", "samples"):
        (run_dir / sub).mkdir(exist_ok=True)
    tracer_dir, note = plugin_dir(build=True) if "pipesight" in opts.tracers else (None, "")
    tracers = list(opts.tracers)
    notes = [note] if note else []
    fallback = None
    if "pipesight" in tracers and tracer_dir is None:
        # without our tracer the stock stats tracer gives the buffer flow; said at once, and
        # kept in the manifest for the verdict to say again
        tracers = ["stats" if t == "pipesight" else t for t in tracers]
        fallback = note or "pipesight's tracer is not available"
        notes.append("fell back to GStreamer's stats tracer: element times are estimates")
        if not opts.quiet:
            echo(f"pipesight: {fallback}. Using GStreamer's stats tracer instead: element "
                 "times will be estimates, not exact.")
    env, added = traced_env(os.environ, run_dir, tracer_dir, tracers,
                            extra_debug=opts.extra_debug, default_debug=opts.default_debug)
    if opts.nvtx and tracer_dir is not None:
        env["PIPESIGHT_NVTX"] = added["PIPESIGHT_NVTX"] = "1"
    argv = _gst_launch_with_eos(cmd)
    manifest: dict[str, Any] = {
        "pipesight": __version__,
        "command": argv,
        "command_line": shlex.join(argv),
        "environment_added": added,
        "tracers": tracers,
        "tracer_fallback": fallback,
        "duration_s": opts.duration_s,
        "delay_s": opts.delay_s,
        "host": host.describe(),
        "notes": notes,
        **opts.manifest_extra,
    }
    run_argv = argv
    if opts.nsys:
        run_argv, manifest["nsys"] = nsys_capture.wrap(argv, run_dir, opts.nsys_args)
        if manifest["nsys"].get("advice") and not opts.quiet:
            echo(f"pipesight: {manifest['nsys']['advice']}")
    _write_manifest(run_dir, manifest)
    start_real = datetime.now(timezone.utc)
    start_mono = time.monotonic_ns()
    ended_by = "exit"
    interrupted = False
    with open(run_dir / "stdout.log", "wb") as out_f, open(run_dir / "stderr.log", "wb") as err_f, \
            _terminate_is_interrupt():
        try:
            proc = subprocess.Popen(run_argv, env=env, stdout=out_f, stderr=err_f,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_die_with_parent)
        except OSError as e:
            raise UserError(f"cannot start {cmd[0]}: {e.strerror}", exit_code=127) from None
        sampler = ProcSampler(proc.pid, run_dir / "samples" / "proc.jsonl",
                              opts.sample_interval_s)
        sampler.start()
        hw = start_hw_samplers(run_dir / "samples", proc.pid, opts.sample_interval_s)
        try:
            ended_by = _wait(proc, opts)
        except KeyboardInterrupt:
            interrupted = True
            ended_by = _stop(proc, opts.grace_s, "interrupted by the user", opts.on_hung)
        finally:
            sampler.stop()
            hw.stop()
    end_mono = time.monotonic_ns()
    rc = proc.returncode
    signame, failed, reason = _outcome(rc, ended_by, opts)
    if opts.nsys:
        manifest["nsys"].update(nsys_capture.export(run_dir))
    manifest.update({
        "start": start_real.isoformat(),
        "start_monotonic_ns": start_mono,
        "end_monotonic_ns": end_mono,
        "wall_s": round((end_mono - start_mono) / 1e9, 3),
        "exit_code": rc,
        "signal": signame,
        "ended_by": ended_by,
        "interrupted": interrupted,
        "failed": failed,
        "failure": reason,
        "proc_samples": sampler.samples,
        "samplers": hw.summary(),
        "artifacts": sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()),
    })
    manifest["notes"].extend(hw.notes())
    _trim_trace_files(run_dir)
    _write_manifest(run_dir, manifest)
    if interrupted:
        raise KeyboardInterrupt
    return CaptureResult(run_dir, manifest)


def _outcome(rc: int | None, ended_by: str, opts: CaptureOptions
             ) -> tuple[str | None, bool, str | None]:
    """The signal that ended the command, whether the run failed, and why in words."""
    signame = None
    if rc is not None and rc < 0:
        try:
            signame = signal.Signals(-rc).name
        except ValueError:
            signame = f"signal {-rc}"
    hung = ended_by.endswith("after hanging")
    stopped = ended_by.startswith("stopped at --duration") or ended_by.startswith("stopped:")
    # an app stopped by our interrupt may exit non-zero (KeyboardInterrupt): that is no failure
    failed = hung or (ended_by == "exit" and rc != 0) or (
        stopped and signame is not None and signame != "SIGINT"
    )
    reason = None
    if failed:
        if hung:
            reason = (f"the command did not stop within {opts.grace_s:g}s of the interrupt at "
                      f"--duration and was {ended_by.split()[0]}")
        elif signame:
            reason = f"the command crashed ({signame})"
        else:
            reason = f"the command exited with status {rc}"
    return signame, failed, reason


def _wait(proc: subprocess.Popen, opts: CaptureOptions) -> str:
    if opts.watch is not None:
        return _wait_watched(proc, opts)
    if opts.duration_s is None:
        proc.wait()
        return "exit"
    try:
        proc.wait(timeout=opts.duration_s)
        return "exit"
    except subprocess.TimeoutExpired:
        return _stop(proc, opts.grace_s, f"stopped at --duration {opts.duration_s:g}s",
                     opts.on_hung)


def _wait_watched(proc: subprocess.Popen, opts: CaptureOptions) -> str:
    assert opts.watch is not None
    deadline = None if opts.duration_s is None else time.monotonic() + opts.duration_s
    while True:
        try:
            proc.wait(timeout=opts.poll_s)
            return "exit"
        except subprocess.TimeoutExpired:
            pass
        reason = opts.watch(proc)
        if reason:
            return _stop(proc, opts.grace_s, f"stopped: {reason}", opts.on_hung)
        if deadline is not None and time.monotonic() >= deadline:
            return _stop(proc, opts.grace_s, f"stopped at --duration {opts.duration_s:g}s",
                         opts.on_hung)


def _die_with_parent() -> None:
    """In the child: if pipesight is killed outright, its command goes too (Linux)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _terminate_is_interrupt():
    """SIGTERM or SIGHUP to pipesight (a CI job cancelled, a terminal closed) stops the command
    the way Ctrl-C does, so that it does not run on unattended."""

    def handler(signum, frame):
        raise KeyboardInterrupt

    old = {}
    try:
        for sig in (signal.SIGTERM, signal.SIGHUP):
            old[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def _stop(proc: subprocess.Popen, grace_s: float, why: str,
          on_hung: Callable[[subprocess.Popen], None] | None = None) -> str:
    """SIGINT (EOS for gst-launch-1.0 -e, a clean quit for most apps), then SIGTERM, then
    SIGKILL, to the whole process group."""
    try:
        os.killpg(proc.pid, signal.SIGINT)
    except ProcessLookupError:
        return why
    try:
        proc.wait(timeout=grace_s)
        return why
    except subprocess.TimeoutExpired:
        pass
    if on_hung is not None:
        on_hung(proc)
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=KILL_AFTER_S)
        return "terminated after hanging"
    except (subprocess.TimeoutExpired, ProcessLookupError):
        pass
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return "killed after hanging"


def _trim_trace_files(run_dir: Path) -> None:
    """A process that crashed leaves its events file at full (sparse) size: cut it to what was
    written, so that the run directory can be copied."""
    from pipesight.tracer.layout import HEADER, HEADER_SIZE

    for ev in (run_dir / "trace").glob("events-*.bin"):
        try:
            with open(ev, "r+b") as f:
                head = f.read(HEADER_SIZE)
                if len(head) < HEADER.itemsize:
                    continue
                import numpy as np

                h = np.frombuffer(head[: HEADER.itemsize], HEADER)[0]
                want = HEADER_SIZE + min(int(h["used"]), int(h["capacity"]))
                if ev.stat().st_size > want:
                    f.truncate(want)
        except OSError:
            continue


def _write_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    tmp = run_dir / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, default=str) + "\n")
    tmp.replace(run_dir / "manifest.json")


def echo(msg: str) -> None:
    print(msg, file=sys.stderr)
