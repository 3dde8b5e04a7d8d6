"""`pipesight watch`: runs (or attaches to) a traced pipeline and judges it every interval.

The loop polls the rings a few times a second, cuts an interval once its end has passed (by a
short grace, for records stamped before the end but written after it), writes the interval as
the run directory's window, judges it with the same analysis as `pipesight analyze`, appends
its line to intervals.jsonl and updates the exporters. The command's exit or crash ends the
current interval early (judged and kept); SIGINT, SIGTERM and SIGHUP stop the command the way
`profile --duration` does (SIGINT: EOS for gst-launch-1.0 -e) and keep the last interval."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pipesight import __version__
from pipesight.capture import host
from pipesight.capture.group_stop import die_with_parent as _die_with_parent
from pipesight.capture.group_stop import stop_group as _stop
from pipesight.capture.runner import _gst_launch_with_eos
from pipesight.errors import UserError
from pipesight.exporters import series
from pipesight.watch import record as records
from pipesight.watch import window
from pipesight.watch.logs import RotatingLog, pump
from pipesight.watch.ring import is_ring
from pipesight.watch.samples import TimedLines
from pipesight.watch.stream import ProcessStream

POLL_S = 0.2
GRACE_S = 0.3  # records stamped before an interval's end reach the ring within this
LOG_MAX_BYTES = 8 << 20
RESTART_BACKOFF_S = (1.0, 2.0, 5.0, 10.0, 30.0)
MIN_RUN_S = 10.0  # a command that lived this long restarts without waiting


@dataclass
class Options:
    interval_s: float = 10.0
    ring_mb: int = 64
    restart: bool = False
    prometheus: str | None = None
    otlp: str | None = None
    name: str | None = None
    sample_interval_s: float = 0.5
    grace_s: float = 10.0
    max_label_values: int = 100
    keep_verdicts: int = 360  # RUN/verdicts/N.json of the last this many intervals
    quiet: bool = False


@dataclass
class Launch:
    proc: subprocess.Popen
    started: float
    pumps: list[threading.Thread] = field(default_factory=list)


class Watch:
    def __init__(self, run: Path, ring_dir: Path, opts: Options, cmd: list[str] | None,
                 tracer_dir: Path | None = None) -> None:
        self.run, self.ring_dir, self.opts, self.cmd = run, ring_dir, opts, cmd
        self.tracer_dir = tracer_dir
        self.pipeline = opts.name or (Path(cmd[0]).name if cmd else ring_dir.resolve().name)
        self.streams: dict[Path, ProcessStream] = {}
        self.state = series.MetricState(max_values=opts.max_label_values)
        self.exporters: list[Any] = []
        self.log = records.IntervalLog(run / "intervals.jsonl")
        self.stop_reason: str | None = None
        self._wake = threading.Event()
        self.sinks = {name: TimedLines(keep_s=2 * opts.interval_s + 5)
                      for name in ("proc.jsonl", "nvml.jsonl", "tegrastats.jsonl")}
        self.samplers: list[Any] = []
        self.sampled_pid: int | None = None
        self.qos_seen: dict[str, int] = {}
        self.index = 0
        self.restarts = 0
        self.host = host.describe()
        self.notes: list[str] = []
        self.ended_pids: list[int] = []
        self._restarted_now = 0
        self.on_interval: Any = None  # called with each interval's line (the CLI prints it)

    # ---- set-up -------------------------------------------------------------------------
    def start_exporters(self) -> None:
        if self.opts.prometheus:
            from pipesight.exporters.prometheus import PrometheusExporter

            self.exporters.append(PrometheusExporter(self.state, self.opts.prometheus))
        if self.opts.otlp:
            from pipesight.exporters.otlp import OtlpExporter

            self.exporters.append(OtlpExporter(self.state, self.opts.otlp, self.opts.interval_s,
                                               {"pipesight.pipeline": self.pipeline},
                                               say=self.say))

    def say(self, msg: str) -> None:
        """What the user must know (a failing export, a restart); --quiet drops only the
        line per interval."""
        print(f"pipesight: {msg}", file=sys.stderr, flush=True)

    def _signals(self) -> dict[int, Any]:
        def handler(signum: int, frame: Any) -> None:
            self.stop_reason = f"stopped by {signal.Signals(signum).name}"
            self._wake.set()

        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with contextlib.suppress(ValueError):  # not the main thread
                old[sig] = signal.signal(sig, handler)
        return old

    # ---- the command ----------------------------------------------------------------------
    def launch(self) -> Launch:
        from pipesight.watch.env import watched_env

        assert self.cmd is not None and self.tracer_dir is not None
        env, added = watched_env(os.environ, self.ring_dir, self.tracer_dir, self.opts.ring_mb)
        self.added = added
        argv = _gst_launch_with_eos(self.cmd)
        self.argv = argv
        logs = self.run / "logs"
        logs.mkdir(exist_ok=True)
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            proc = subprocess.Popen(argv, env=env, stdout=out_w, stderr=err_w,
                                    stdin=subprocess.DEVNULL, start_new_session=True,
                                    preexec_fn=_die_with_parent)
        except OSError as e:
            for fd in (out_r, out_w, err_r, err_w):
                os.close(fd)
            raise UserError(f"cannot start {self.cmd[0]}: {e.strerror}", exit_code=127) from None
        os.close(out_w)
        os.close(err_w)
        pumps = [pump(out_r, RotatingLog(logs / "stdout.log", LOG_MAX_BYTES)),
                 pump(err_r, RotatingLog(logs / "stderr.log", LOG_MAX_BYTES))]
        self.sample(proc.pid)
        return Launch(proc, time.monotonic(), pumps)

    def sample(self, pid: int) -> None:
        """The /proc (and GPU) samplers, on ``pid``'s process tree."""
        if pid == self.sampled_pid or not os.path.exists(f"/proc/{pid}"):
            return
        from pipesight.capture.nvml_sampler import NvmlSampler
        from pipesight.capture.proc_sampler import ProcSampler
        from pipesight.capture.tegrastats_sampler import TegrastatsSampler

        self.stop_samplers()
        self.sampled_pid = pid
        d = self.run / "samples"
        ps = ProcSampler(pid, d / "proc.jsonl", self.opts.sample_interval_s)
        ps.sink = self.sinks["proc.jsonl"]
        ps.start()
        self.samplers = [ps]
        for s in (NvmlSampler(d / "nvml.jsonl", self.opts.sample_interval_s, pid),
                  TegrastatsSampler(d / "tegrastats.jsonl", self.opts.sample_interval_s)):
            if s.open():
                s.sink = self.sinks[s.out.name]
                s.start()
                self.samplers.append(s)

    def stop_samplers(self) -> None:
        for s in self.samplers:
            s.stop()
        self.samplers = []
        self.sampled_pid = None

    # ---- the rings --------------------------------------------------------------------------
    def discover(self, from_start: bool = True) -> None:
        for ev in sorted(self.ring_dir.glob("events-*.bin")):
            if ev in self.streams or not is_ring(ev):
                continue
            try:
                self.streams[ev] = ProcessStream(ev, from_start=from_start)
            except (OSError, ValueError):
                continue
            if self.cmd is None:  # attach: sample the newest process pipesight can see
                self.sample(self.streams[ev].pid)

    def poll(self) -> None:
        self.discover()
        for s in self.streams.values():
            s.poll()

    def drain(self, timeout_s: float = 2.0) -> None:
        """After the command ended: read what its rings still hold."""
        deadline = time.monotonic() + timeout_s
        while True:
            self.poll()
            if all(s.ended for s in self.streams.values()) or time.monotonic() > deadline:
                return
            time.sleep(0.05)

    # ---- judging ------------------------------------------------------------------------------
    def judge(self, start: int, end: int, ended: dict[str, Any] | None = None) -> dict | None:
        from pipesight.readers import run_dir
        from pipesight.render import json_out
        from pipesight.workflows.answer import analyze_trace

        self.index += 1
        parts = [p for s in self.streams.values() if (p := s.cut(end, start)) is not None]
        wall_end = time.time() - (time.monotonic_ns() - end) / 1e9
        info: dict[str, Any] = {
            "interval": self.index,
            "start": datetime.fromtimestamp(wall_end - (end - start) / 1e9,
                                            timezone.utc).isoformat(),
            "end": datetime.fromtimestamp(wall_end, timezone.utc).isoformat(),
            "end_unix": round(wall_end, 3),
            "seconds": round((end - start) / 1e9, 3),
            "pids": [p.pid for p in parts],
            "lost_records": sum(p.lost for p in parts),
            "incomplete_records": sum(p.incomplete for p in parts),
            "lost_messages": sum(p.lost_messages for p in parts),
            "restarted": self._restarted_now,
            "ended": ended,
        }
        self._restarted_now = 0
        info["complete"] = not (info["lost_records"] or info["incomplete_records"]
                                or info["lost_messages"])
        for ev in [ev for ev, s in self.streams.items() if s.ended and not s.pending]:
            self.forget(ev)
        if not parts:
            rec = {**info, "throughput_fps": None, "bottleneck": None,
                   "note": "no traced process in this interval"}
            self.log.append(rec)
            if self.on_interval:
                self.on_interval(rec)
            return rec
        margin = int(1e9)
        samples = {name: sink.text_between(start - margin, end + margin)
                   for name, sink in self.sinks.items()}
        manifest = self.manifest(start, end, info, ended)
        window.write(self.run, parts, samples, manifest, self._stderr_tail())
        # without RUN/intervals.jsonl: read every interval, it would cost more the longer
        # the watch runs (up to its 16 MB cap)
        trace = run_dir.load(self.run, intervals=False)
        metrics, verdict = analyze_trace(trace)
        json_out.write(verdict, self.run / "verdict.json")
        self._keep_verdict()
        v = verdict.to_dict()
        rec = records.summary(v, info)
        self.log.append(rec)
        series.update(self.state, self.pipeline, rec, v, trace, metrics, self.qos_seen)
        for e in self.exporters:
            e.update()
        if self.on_interval:
            self.on_interval(rec)
        return rec

    def manifest(self, start: int, end: int, info: dict[str, Any],
                 ended: dict[str, Any] | None) -> dict[str, Any]:
        failed = bool(ended and ended.get("failed"))
        m: dict[str, Any] = {
            "pipesight": __version__,
            "command": getattr(self, "argv", None) or [],
            "command_line": shlex.join(getattr(self, "argv", None) or []),
            "environment_added": getattr(self, "added", {}),
            "tracers": ["pipesight"],
            "host": self.host,
            "start": info["start"],
            "start_monotonic_ns": start,
            "end_monotonic_ns": end,
            "window_monotonic_ns": [start, end - 1],  # inclusive: the next interval starts at end
            "wall_s": info["seconds"],
            "delay_s": 0.0,
            "watch": {"interval": info, "ring_dir": str(self.ring_dir),
                      "pipeline": self.pipeline},
            "notes": list(self.notes),
            "failed": failed,
            "exit_code": ended.get("exit_code") if ended else None,
            "signal": ended.get("signal") if ended else None,
            "ended_by": ended.get("by") if ended else "watching",
            "failure": ended.get("failure") if ended else None,
        }
        return m

    def _keep_verdict(self) -> None:
        """The last intervals' full verdicts, each a valid input to `pipesight compare` (one
        interval against another), the oldest removed."""
        d = self.run / "verdicts"
        d.mkdir(exist_ok=True)
        shutil.copyfile(self.run / "verdict.json", d / f"{self.index}.json")
        (d / f"{self.index - self.opts.keep_verdicts}.json").unlink(missing_ok=True)

    def _stderr_tail(self) -> bytes:
        """The end of what the command printed on stderr: a failed run's verdict quotes it."""
        log = self.run / "logs" / "stderr.log"
        try:
            with open(log, "rb") as f:
                f.seek(max(log.stat().st_size - 4096, 0))
                return f.read()
        except OSError:
            return b""

    def forget(self, ev: Path) -> None:
        """A finished process whose records were all judged: its files go (bounded disk)."""
        s = self.streams.pop(ev)
        s.close()
        self.ended_pids.append(s.pid)
        for name in (f"events-{s.pid}.bin", f"defs-{s.pid}.jsonl", f"msgs-{s.pid}.jsonl",
                     f"msgs-{s.pid}.1.jsonl"):
            (self.ring_dir / name).unlink(missing_ok=True)

    # ---- the loop ---------------------------------------------------------------------------
    def loop(self) -> int:
        """Until the command ends (without --restart) or a signal; the exit status."""
        old = self._signals()
        launch = self.launch() if self.cmd else None
        if launch is None:
            # attaching: start at what is being written now, not at a whole ring of the past
            # (processes that start later are read from their beginning)
            self.discover(from_start=False)
        step = int(self.opts.interval_s * 1e9)
        t0 = time.monotonic_ns()
        status = 0
        fails = 0
        try:
            while True:
                self._wake.wait(POLL_S)
                self.poll()
                now = time.monotonic_ns()
                if self.stop_reason:
                    ended = None
                    if launch is not None:
                        why = _stop(launch.proc, self.opts.grace_s, self.stop_reason)
                        ended = self._ended(launch, why)
                    self.drain()
                    self.judge(t0, time.monotonic_ns(), ended)
                    return status
                if launch is not None and launch.proc.poll() is not None:
                    ended = self._ended(launch, "exit")
                    for p in launch.pumps:
                        p.join(timeout=2)
                    self.drain()
                    self.judge(t0, time.monotonic_ns(), ended)
                    status = 3 if ended["failed"] else 0
                    if not self.opts.restart:
                        return status
                    fails = 0 if time.monotonic() - launch.started > MIN_RUN_S else fails + 1
                    if fails:
                        wait = RESTART_BACKOFF_S[min(fails, len(RESTART_BACKOFF_S)) - 1]
                        self.say(f"the command ended ({ended['why']}); starting it again in "
                                 f"{wait:g} s")
                        if self._wake.wait(wait):
                            return status  # stopped while waiting
                    self.stop_samplers()
                    launch = self.launch()
                    self.restarts += 1
                    self._restarted_now += 1
                    t0 = time.monotonic_ns()
                    continue
                if now >= t0 + step + int(GRACE_S * 1e9):
                    if now > t0 + 3 * step:  # the machine slept or we fell far behind
                        t0 = now - step - int(GRACE_S * 1e9)
                    self.judge(t0, t0 + step)
                    t0 += step
        finally:
            for sig, h in old.items():
                signal.signal(sig, h)
            self.stop_samplers()
            for e in self.exporters:
                e.close()
            for s in self.streams.values():
                s.close()

    def _ended(self, launch: Launch, why: str) -> dict[str, Any]:
        rc = launch.proc.returncode
        sig = None
        if rc is not None and rc < 0:
            try:
                sig = signal.Signals(-rc).name
            except ValueError:
                sig = f"signal {-rc}"
        stopped = why.startswith("stopped")
        failed = why.endswith("after hanging") or (why == "exit" and rc != 0) or (
            stopped and sig is not None and sig != "SIGINT")
        failure = None
        if failed:
            failure = (f"the command crashed ({sig})" if sig else
                       f"the command exited with status {rc}" if why == "exit" else
                       f"the command did not stop and was {why.split()[0]}")
        return {"by": why, "exit_code": rc, "signal": sig, "failed": failed,
                "failure": failure, "why": failure or why}


def prepare_run(run: Path, attach: bool) -> Path:
    """The run directory (new, or one this watch wrote before) and the ring folder in it."""
    if run.exists() and (not run.is_dir() or (any(run.iterdir())
                                              and not (run / "intervals.jsonl").exists())):
        raise UserError(f"{run} already exists and is not a watch run directory: choose "
                        "another with -o")
    run.mkdir(parents=True, exist_ok=True)
    ring = run / "ring"
    if not attach:
        shutil.rmtree(ring, ignore_errors=True)
        ring.mkdir()
    return ring
