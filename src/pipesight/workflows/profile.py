"""`pipesight profile`: capture, analyze, print; with --repeat, the spread over runs."""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections.abc import Callable
from pathlib import Path

from pipesight.capture.environment import DEFAULT_TRACERS, LATENCY_TRACER
from pipesight.capture.run_dir import prepare as prepare_run_dir
from pipesight.capture.runner import CaptureOptions, capture
from pipesight.capture.screen import wants_progress
from pipesight.findings import Verdict
from pipesight.readers import run_dir as run_dir_reader
from pipesight.readers.live_trace import LiveTrace
from pipesight.render import progress_line
from pipesight.terminal_text import one_line
from pipesight.workflows.answer import analyze_trace
from pipesight.workflows.gates import EXIT_GATE, under_fps
from pipesight.workflows.outputs import emit, write_run_outputs
from pipesight.workflows.repeats import repeat_summary, representative

EXIT_TARGET_FAILED = 3
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports a command ended by Ctrl-C


def options_from(a: argparse.Namespace) -> CaptureOptions:
    tracers = [t for t in (a.tracers or "").split(";") if t.strip()] or list(DEFAULT_TRACERS)
    if getattr(a, "latency", False) and LATENCY_TRACER not in tracers:
        tracers.append(LATENCY_TRACER)
    extra = {}
    if getattr(a, "ceiling", None):
        from pipesight.readers.ceiling import read

        extra["ceiling"] = read(a.ceiling).to_dict()  # a mistake is said before the run
    return CaptureOptions(duration_s=a.duration, delay_s=a.delay, grace_s=a.grace,
                          tracers=tracers, nsys=getattr(a, "nsys", False),
                          nsys_args=getattr(a, "nsys_args", None),
                          nvtx=getattr(a, "nvtx", False), manifest_extra=extra,
                          progress=(progress_text(a.duration) if wants_progress(sys.stdout, a.json)
                                    else None))


def progress_text(duration_s: float | None) -> Callable[[Path, float], str]:
    """The progress line's text while a command runs: what the tracer's files in its run
    directory say so far (one reader per run, so that each read starts where the last ended)."""
    live: dict[Path, LiveTrace] = {}

    def text(run_dir: Path, elapsed_s: float) -> str:
        reader = live.setdefault(run_dir, LiveTrace(run_dir / "trace"))
        p = reader.poll()
        p.elapsed_s = elapsed_s
        return progress_line.text(p, duration_s)

    return text


def run_once(cmd: list[str], run_dir: Path, opts: CaptureOptions) -> tuple[Verdict, dict]:
    res = capture(cmd, run_dir, opts)
    trace = run_dir_reader.load(run_dir)
    m, v = analyze_trace(trace, opts.delay_s)
    write_run_outputs(v, run_dir, trace, m)
    return v, res.manifest


def profile(cmd: list[str], run_dir: Path, a: argparse.Namespace) -> int:
    opts = options_from(a)
    if a.repeat == 1:
        v, manifest = run_once(cmd, run_dir, opts)
        return _gate(_finish(v, manifest, run_dir, a.json), v.throughput_fps, a)
    prepare_run_dir(run_dir, subdirs=False)
    runs: list[tuple[Verdict, dict, Path]] = []
    for i in range(1, a.repeat + 1):
        sub = run_dir / "repeats" / str(i)
        if not a.json:
            print(f"pipesight: run {i} of {a.repeat} -> {one_line(sub)}", file=sys.stderr)
        v, m = run_once(cmd, sub, opts)
        runs.append((v, m, sub))
        if m.get("interrupted"):
            break  # Ctrl-C ends the series: the runs made so far are summarised
    verdicts = [v for v, _, _ in runs]
    dirs = [str(p.relative_to(run_dir)) for _, _, p in runs]
    summary = repeat_summary(verdicts, dirs)
    fps = [v.throughput_fps or 0.0 for v in verdicts]
    v, manifest, rep_dir = runs[representative(fps)]
    v.run["repeat"] = summary
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "manifest.json").write_text(json.dumps(
        {"repeats": dirs, "summary": summary, "command": manifest.get("command")},
        indent=2) + "\n")
    # the run directory answers as its representative does: verdict.json, report.html,
    # trace.json (the representative analysed again: N traces are not kept in memory)
    trace = run_dir_reader.load(rep_dir)
    metrics, _ = analyze_trace(trace, opts.delay_s)
    write_run_outputs(v, run_dir, trace, metrics)
    failed = next((m for _, m, _ in runs if m.get("failed")), None)
    stopped = next((m for _, m, _ in runs if m.get("interrupted")), None)
    return _gate(_finish(v, failed or stopped or manifest, run_dir, a.json),
                 statistics.median(fps), a)


def _gate(code: int, fps: float | None, a: argparse.Namespace) -> int:
    """--fail-under-fps (over repeats: their median); a failed target keeps its own code."""
    minimum = getattr(a, "fail_under_fps", None)
    reason = None if minimum is None else under_fps(fps, minimum)
    if reason is None:
        return code
    print(f"pipesight: gate failed: {reason}", file=sys.stderr)
    return code or EXIT_GATE


def _finish(v: Verdict, manifest: dict, run_dir: Path, as_json: bool) -> int:
    emit(v, None, as_json)
    if not as_json:
        print(f"Run directory: {one_line(run_dir)}")
    if manifest.get("failed"):
        print(f"pipesight: the target failed: {one_line(manifest.get('failure'))}; what was "
              f"captured is kept in {one_line(run_dir)} and analyzed as far as it goes",
              file=sys.stderr)
        return EXIT_TARGET_FAILED
    if manifest.get("interrupted"):
        print(f"pipesight: stopped by {manifest['interrupted']} ({manifest.get('ended_by')}); "
              "what ran until then is analysed above", file=sys.stderr)
        return int(manifest.get("interrupt_exit_status") or EXIT_INTERRUPTED)
    return 0
