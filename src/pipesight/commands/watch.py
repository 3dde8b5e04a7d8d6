"""pipesight watch [--interval S] [--prometheus HOST:PORT] [--otlp URL] [-o RUN] [--restart]
-- COMMAND; --print-env RING; --attach RING."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from pipesight.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    w = sub.add_parser(
        "watch", help="run a pipeline indefinitely and judge it every interval",
        description="Run COMMAND with pipesight's tracer writing a bounded ring, judge its "
        "bottleneck every interval (RUN/intervals.jsonl; RUN holds the last window for "
        "`pipesight analyze`) and export metrics to Prometheus and/or OTLP. Or attach to a "
        "service that runs with the environment --print-env gives.")
    w.add_argument("-o", "--output", metavar="RUN", help="run directory (default: "
                   "pipesight-runs/DATE-TIME-watch-NAME-XXXX)")
    w.add_argument("--interval", type=float, default=10.0, metavar="S",
                   help="judge every S seconds (default 10)")
    w.add_argument("--prometheus", metavar="HOST:PORT",
                   help="serve Prometheus metrics there (e.g. 127.0.0.1:9464)")
    w.add_argument("--otlp", metavar="URL", help="export metrics over OTLP/HTTP to URL "
                   "(e.g. http://127.0.0.1:4318/v1/metrics)")
    w.add_argument("--restart", action="store_true",
                   help="start the command again when it exits or crashes")
    w.add_argument("--name", help="the pipeline label of every metric (default: the "
                   "command's name, or the ring folder's)")
    w.add_argument("--ring-mb", type=int, default=64, metavar="MB",
                   help="trace ring size per process (default 64)")
    w.add_argument("--max-label-values", type=int, default=100, metavar="N",
                   help="at most N live values per label (element, thread); more become "
                   "'other' (default 100)")
    w.add_argument("--keep-verdicts", type=int, default=360, metavar="N",
                   help="keep the full verdict of the last N intervals in RUN/verdicts/ "
                   "(inputs to `pipesight compare`; default 360)")
    w.add_argument("--sample-interval", type=float, default=0.5, metavar="S",
                   help="/proc and GPU sampling period (default 0.5)")
    w.add_argument("--print-env", metavar="RING", help="print the environment a service needs "
                   "to be watched with --attach RING (RING: a folder), and exit")
    w.add_argument("--attach", metavar="RING", help="watch the traced processes writing into "
                   "the folder RING (see --print-env) instead of starting a command")
    w.add_argument("--quiet", action="store_true", help="no line per interval")
    w.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    w.set_defaults(func=run)


def _tracer() -> Path:
    from pipesight.tracer.build import plugin_dir

    d, note = plugin_dir(build=True)
    if d is None:
        raise UserError(f"pipesight watch needs pipesight's tracer: {note}")
    return d


def run(a: argparse.Namespace) -> int:
    from pipesight.capture.run_names import new_run_dir
    from pipesight.watch.session import Options, Watch, prepare_run

    cmd = list(a.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not a.interval > 0:
        raise UserError("--interval must be a positive number of seconds")
    if a.ring_mb < 1:
        raise UserError("--ring-mb must be 1 or more")
    if a.max_label_values < 1:
        raise UserError("--max-label-values must be 1 or more")
    if a.keep_verdicts < 1:
        raise UserError("--keep-verdicts must be 1 or more")
    if not a.sample_interval > 0:
        raise UserError("--sample-interval must be positive")
    if a.print_env:
        if cmd or a.attach:
            raise UserError("--print-env takes no command and no --attach")
        from pipesight.watch.env import print_env

        ring = Path(a.print_env).resolve()
        try:
            ring.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UserError(f"cannot make the ring folder {ring}: {e.strerror}") from None
        sys.stdout.write(print_env(ring, _tracer(), a.ring_mb))
        return 0
    if a.attach and cmd:
        raise UserError("--attach watches a running service: give no command")
    if not a.attach and not cmd:
        raise UserError("no command given: pipesight watch [options] -- COMMAND [ARGS...] "
                        "(or --attach RING)")
    if cmd and shutil.which(cmd[0]) is None:
        raise UserError(f"command not found: {cmd[0]}", exit_code=127)
    if a.prometheus:
        from pipesight.exporters.prometheus import parse_address

        parse_address(a.prometheus)
    if a.otlp and not a.otlp.startswith(("http://", "https://")):
        raise UserError(f"--otlp {a.otlp}: give an http:// or https:// URL (OTLP/HTTP, e.g. "
                        "http://127.0.0.1:4318/v1/metrics)")
    if a.attach:
        ring = Path(a.attach)
        if not ring.is_dir():
            raise UserError(f"--attach {ring}: no such folder (make it with --print-env)")
    name = a.name or (Path(cmd[0]).name if cmd else None)
    run_dir = Path(a.output) if a.output else new_run_dir(f"watch-{name or 'attach'}")
    ring_dir = prepare_run(run_dir, attach=bool(a.attach))
    if a.attach:
        ring_dir = Path(a.attach)
    opts = Options(interval_s=a.interval, ring_mb=a.ring_mb, restart=a.restart,
                   prometheus=a.prometheus, otlp=a.otlp, name=a.name,
                   sample_interval_s=a.sample_interval, max_label_values=a.max_label_values,
                   keep_verdicts=a.keep_verdicts, quiet=a.quiet)
    w = Watch(run_dir, ring_dir, opts, cmd or None, _tracer() if cmd else None)
    w.start_exporters()
    w.say(f"watching; intervals in {run_dir / 'intervals.jsonl'}"
          + "".join(f"; metrics at http://{e.address}/metrics" for e in w.exporters
                    if hasattr(e, "address")))
    w.on_interval = None if a.quiet else _print_line
    return w.loop()


def _print_line(rec: dict) -> None:
    b = rec.get("bottleneck") or {}
    fps = rec.get("throughput_fps")
    rate = "no buffers" if fps is None else f"{fps:.1f} fps"
    what = b.get("element") or b.get("kind") or "nothing traced"
    flag = "" if rec.get("complete") else " (incomplete: trace records lost)"
    end = f"; the command ended: {rec['ended']['why']}" if rec.get("ended") else ""
    print(f"[{rec['end'][11:19]}] interval {rec['interval']}: {rate}; bottleneck {what} "
          f"({b.get('kind')}, {b.get('confidence')}){flag}{end}", flush=True)
