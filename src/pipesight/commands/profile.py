"""pipesight profile [-o RUN_DIR] [--duration S] [--delay S] [--repeat N] -- COMMAND ..."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

from pipesight.capture.run_names import new_run_dir
from pipesight.errors import UserError

EPILOG = """\
Ctrl-C stops COMMAND the way --duration does (SIGINT, which is EOS for gst-launch-1.0, so files
are finalised), then analyses what ran: verdict.json and report.html are written. A second
Ctrl-C stops it at once (SIGTERM, then SIGKILL). When COMMAND ends, processes it left running
(background jobs, nohup, setsid) are stopped too and listed in manifest.json.

exit status:
  0    done
  2    a usage or input mistake (one line says which)
  3    the command failed: crashed (any process of it), exited non-zero, hung past --duration,
       or ran no GStreamer pipeline; what was captured is kept and analysed
  5    a CI gate failed (--fail-under-fps)
  127  command not found
  130  stopped by Ctrl-C (143 SIGTERM, 129 SIGHUP) after the verdict was written
"""


def register(sub: argparse._SubParsersAction) -> None:
    pr = sub.add_parser("profile", help="run a command instrumented and name its bottleneck",
                        description="Run COMMAND (gst-launch-1.0, a Python app, deepstream-app) "
                        "with tracers, write a run directory and print the verdict. COMMAND's "
                        "own output is shown on stderr as it runs and kept in RUN/stdout.log "
                        "and RUN/stderr.log; on a terminal a progress line shows the time, buffers "
                        "per second into the sinks and the busiest element.",
                        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    pr.add_argument("-o", "--output", metavar="RUN_DIR", help="run directory to write "
                    "(default: pipesight-runs/DATE-TIME-NAME-XXXX, a new one each time)")
    pr.add_argument("--duration", type=float, metavar="S",
                    help="stop the pipeline cleanly (EOS via SIGINT) after S seconds")
    pr.add_argument("--delay", type=float, default=0.0, metavar="S",
                    help="leave the first S seconds (warm-up) out of the analysed window "
                    "(ignored, and said, if that would leave under 0.5 s)")
    pr.add_argument("--repeat", type=int, default=1, metavar="N",
                    help="run N times and report the spread")
    pr.add_argument("--grace", type=float, default=10.0, metavar="S",
                    help="after the interrupt at --duration, wait S s before killing")
    pr.add_argument("--tracers", metavar="LIST", help="';'-separated GStreamer tracers "
                    "(default: pipesight)")
    pr.add_argument("--latency", action="store_true",
                    help="add GStreamer's latency tracer (pipeline and element latency; costs "
                    "about 16 us per pad push, pipesight's own tracer about 1 us)")
    pr.add_argument("--nsys", action="store_true", help="also run under Nsight Systems "
                    "(nsys profile -t cuda,nvtx,osrt): GPU gaps and what keeps the GPU waiting")
    pr.add_argument("--nsys-args", metavar="ARGS", help="extra `nsys profile` options, e.g. "
                    "'-s cpu' (replaces pipesight's default for the same option)")
    pr.add_argument("--nvtx", action="store_true", help="with --nsys: an NVTX range per "
                    "element push and pad-probe span, so the Nsight Systems GUI shows GStreamer "
                    "beside CUDA (costs about 1-2 us per push under nsys)")
    pr.add_argument("--ceiling", metavar="FPS|FILE", help="the model alone's throughput: a "
                    "number, a `pipesight bench-model --json` report or a trtexec log (checked "
                    "for the same batch, precision and input size as the pipeline)")
    pr.add_argument("--json", action="store_true", help="print verdict JSON only")
    pr.add_argument("--fail-under-fps", type=float, metavar="X",
                    help="CI gate: exit 5 when the throughput (with --repeat: the median) is "
                    "under X fps")
    pr.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND [ARGS...]")
    pr.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    from pipesight.workflows.profile import profile

    cmd = list(a.command)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        raise UserError("no command given: pipesight profile [options] -- COMMAND [ARGS...]")
    if a.repeat < 1:
        raise UserError("--repeat must be 1 or more")
    if a.duration is not None and a.duration <= 0:
        raise UserError("--duration must be positive")
    if a.fail_under_fps is not None and not a.fail_under_fps > 0:
        raise UserError("--fail-under-fps must be a positive number of frames per second")
    if a.delay < 0:
        raise UserError("--delay must be 0 or more")
    if a.output:
        return profile(cmd, Path(a.output), a)
    run_dir = new_run_dir(Path(cmd[0]).name)
    try:
        return profile(cmd, run_dir, a)
    except UserError:
        with contextlib.suppress(OSError):  # made for this run, and nothing was written
            run_dir.rmdir()
        raise
