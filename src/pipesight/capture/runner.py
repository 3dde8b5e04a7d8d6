"""Runs a command instrumented and writes a run directory that is never edited afterwards
(analyses write their own files beside the captured ones).

The command runs under the keeper, which owns its whole process tree (capture/tree.py); its
output is kept and passed through (capture/output.py); a progress line is drawn on a terminal
(capture/screen.py; what it shows is the caller's); Ctrl-C stops it the way --duration does
(capture/interrupts.py, capture/stop.py) and the run is analysed all the same."""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipesight import __version__
from pipesight.capture import crashes as crashes_mod
from pipesight.capture import host
from pipesight.capture import nsys as nsys_capture
from pipesight.capture import run_dir as run_dir_mod
from pipesight.capture.crashes import clean_exits
from pipesight.capture.environment import DEFAULT_TRACERS, traced_env
from pipesight.capture.hw_samplers import start_hw_samplers
from pipesight.capture.interrupts import Interrupts
from pipesight.capture.output import Pump
from pipesight.capture.proc_sampler import ProcSampler
from pipesight.capture.screen import Screen, flush_std
from pipesight.capture.stop import Leftovers, stop_command, stop_rest
from pipesight.capture.tree import ProcessTree
from pipesight.errors import UserError
from pipesight.terminal_text import one_line
from pipesight.tracer.build import plugin_dir

GRACE_S = 10.0  # after SIGINT, time to reach EOS and exit before SIGTERM
PROGRESS_FIRST_S = 1.0  # a run shorter than this needs no progress line
PROGRESS_EVERY_S = 0.5
PUMP_JOIN_S = 5.0  # a survivor may hold the output pipes open: do not wait on it for long


@dataclass
class CaptureOptions:
    duration_s: float | None = None
    delay_s: float = 0.0
    grace_s: float = GRACE_S
    tracers: list[str] = field(default_factory=lambda: list(DEFAULT_TRACERS))
    sample_interval_s: float = 0.1
    quiet: bool = False  # neither the command's output nor pipesight's notes on the terminal
    # the command's output shown as it comes (kept in the run directory either way); off for
    # the lab's own pipelines, whose gst-launch-1.0 chatter is not the user's program speaking
    show_output: bool = True
    # a live progress line on stdout (a terminal): its text, asked twice a second with the run
    # directory and the seconds since the start
    progress: Callable[[Path, float], str] | None = None
    # GST_DEBUG categories to add (e.g. doctor's GST_STATES:4) and the threshold used when the
    # user set none
    extra_debug: list[str] = field(default_factory=list)
    default_debug: str = "2"
    # polled while the command runs: a returned reason stops it (e.g. doctor's hang watch)
    watch: Callable[[ProcessTree], str | None] | None = None
    # called when the command ignored the interrupt, before it is terminated
    on_hung: Callable[[ProcessTree], None] | None = None
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
    run_dir_mod.prepare(run_dir)
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
    run = _Run(run_dir, opts)
    with Interrupts() as intr:
        run.start(run_argv, env, cmd[0])
        try:
            ended_by = run.wait(intr)
        finally:
            leftovers = run.finish()
    manifest.update(_outcome(run, ended_by, leftovers, intr, opts, tracer_dir is not None))
    manifest["notes"].extend(run.hw.notes() if run.hw else [])
    if opts.nsys:
        manifest["nsys"].update(nsys_capture.export(run_dir))
    manifest["artifacts"] = sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*")
                                   if p.is_file())
    _trim_trace_files(run_dir)
    _write_manifest(run_dir, manifest)
    return CaptureResult(run_dir, manifest)


class _Run:
    """One run of the command: its process tree, samplers, output pumps and progress line."""

    def __init__(self, run_dir: Path, opts: CaptureOptions) -> None:
        self.dir = run_dir
        self.opts = opts
        self.tree = ProcessTree()
        self.screen = Screen(sys.stdout if opts.progress is not None else None)
        self.pumps: list[Pump] = []
        self.sampler: ProcSampler | None = None
        self.hw: Any = None
        self.start_real = datetime.now(timezone.utc)
        self.start_mono = time.monotonic_ns()
        self.end_mono = self.start_mono
        self.clean: dict[int, bool | None] = {}

    def start(self, argv: list[str], env: dict[str, str], name: str) -> None:
        flush_std()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            self.start_real = datetime.now(timezone.utc)
            self.start_mono = time.monotonic_ns()
            self.tree.start(argv, env, stdout=out_w, stderr=err_w)
        except BaseException:
            for fd in (out_r, err_r):
                os.close(fd)
            raise
        finally:
            os.close(out_w)
            os.close(err_w)
        o = self.opts
        # both on pipesight's stderr: its stdout holds its own answer alone (the verdict, or
        # JSON), whoever reads it
        echo = None if o.quiet or not o.show_output else sys.stderr
        for fd, log, to in ((out_r, "stdout.log", echo), (err_r, "stderr.log", echo)):
            p = Pump(fd, self.dir / log, to.buffer if to is not None else None, self.screen)
            p.start()
            self.pumps.append(p)
        self.sampler = ProcSampler(self.tree.keeper_pid, self.dir / "samples" / "proc.jsonl",
                                   o.sample_interval_s, exclude={self.tree.keeper_pid})
        self.sampler.start()
        self.hw = start_hw_samplers(self.dir / "samples", self.tree.main_pid,
                                    o.sample_interval_s)

    def wait(self, intr: Interrupts) -> str:
        """Until the command exits, or is stopped (--duration, the watch, an interrupt)."""
        o = self.opts
        deadline = None if o.duration_s is None else time.monotonic() + o.duration_s
        next_draw = time.monotonic() + PROGRESS_FIRST_S
        t0 = time.monotonic()
        while not self.tree.wait_main(o.poll_s):
            if intr.count:
                return stop_command(self.tree, o.grace_s, "interrupted by the user",
                                    o.on_hung, intr)
            if o.watch is not None:
                reason = o.watch(self.tree)
                if reason:
                    return stop_command(self.tree, o.grace_s, f"stopped: {reason}", o.on_hung,
                                        intr)
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return stop_command(self.tree, o.grace_s,
                                    f"stopped at --duration {o.duration_s:g}s", o.on_hung, intr)
            if o.progress is not None and now >= next_draw:
                self.screen.show(o.progress(self.dir, now - t0))
                next_draw = now + PROGRESS_EVERY_S
        return "exit"

    def finish(self) -> Leftovers:
        """The rest of the tree stopped, every sampler and pump ended."""
        try:
            left = stop_rest(self.tree, self.opts.grace_s)
        finally:
            self.end_mono = time.monotonic_ns()
            self.screen.clear()
            # before the runner trims the events files, and once every process has ended
            self.clean = clean_exits(self.dir / "trace")
            if self.sampler is not None:
                self.sampler.stop()
            if self.hw is not None:
                self.hw.stop()
            for p in self.pumps:
                p.join(PUMP_JOIN_S)
            self.tree.close()
        return left


def _outcome(run: _Run, ended_by: str, left: Leftovers, intr: Interrupts, opts: CaptureOptions,
             traced: bool) -> dict[str, Any]:
    """What the manifest says about how the run ended."""
    tree = run.tree
    main = tree.main_exit
    rc = None if main is None else (main.code if main.signal is None else
                                    -int(getattr(signal, main.signal, 0) or 0))
    signame = None if main is None else main.signal
    hung = ended_by.endswith("after hanging")
    stopped = ended_by != "exit"
    # an app stopped by our interrupt may exit non-zero (KeyboardInterrupt): that is no failure
    failed = hung or (ended_by == "exit" and rc not in (0, None)) or (
        stopped and signame is not None and signame not in ("SIGINT", "SIGTERM", "SIGKILL"))
    names = dict(tree.signalled.names)
    if run.sampler is not None:
        names.update(run.sampler.process_names)
    names.update({e.pid: e.comm for e in tree.exits if e.comm})
    crashes = crashes_mod.find(tree.exits, run.clean, tree.signalled.sent, names,
                               run.dir / "stderr.log")
    reason = None
    if hung:
        reason = (f"the command did not stop within {opts.grace_s:g}s of the interrupt at "
                  f"--duration and was {ended_by.split()[0]}")
    elif failed and signame:
        reason = f"the command crashed ({signame})"
    elif failed:
        reason = f"the command exited with status {rc}"
    if crashes:
        failed = True
        said = "; ".join(c.what for c in crashes[:3])
        reason = f"{reason}; {said}" if reason else said
    nothing = traced and not run.clean and not failed
    if nothing:
        failed = True
        reason = ("nothing ran through GStreamer: no process of the command started GStreamer "
                  "with pipesight's tracer (is COMMAND a GStreamer program?)")
    if left.stopped and not opts.quiet:
        echo(f"pipesight: the command left {len(left.stopped)} process(es) running when it "
             "ended; stopped: " + ", ".join(f"{one_line(p['comm'])} ({p['pid']})"
                                            for p in left.stopped[:6]))
    if left.survivors:
        echo("pipesight: could not stop " + "; ".join(
            f"process {s['pid']} ({one_line(s['comm'])}, state {s['state']})"
            for s in left.survivors) + "; they are still running")
    return {
        "start": run.start_real.isoformat(),
        "start_monotonic_ns": run.start_mono,
        "end_monotonic_ns": run.end_mono,
        "wall_s": round((run.end_mono - run.start_mono) / 1e9, 3),
        "exit_code": rc,
        "signal": signame,
        "ended_by": ended_by,
        "interrupted": intr.first.name if intr.first is not None else False,
        "interrupt_exit_status": intr.exit_status,
        "failed": failed,
        "failure": reason,
        "crashes": [c.what for c in crashes],
        "left_running": left.stopped,
        "survivors": left.survivors,
        "traced_processes": {str(k): ("clean exit" if v else "no clean exit" if v is False
                                      else "unknown") for k, v in run.clean.items()},
        "proc_samples": run.sampler.samples if run.sampler is not None else 0,
        "samplers": run.hw.summary() if run.hw is not None else {},
    }


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
