"""Running a profiled command under Nsight Systems (`pipesight profile --nsys`).

The command runs under ``nsys profile`` with the traces that show what keeps a GPU waiting:
CUDA (graphs traced per node), NVTX, OS runtime calls, and the Python GIL for Python apps
where this nsys offers it. CPU sampling and context-switch tracing stay off unless asked for
(they need perf events, and even a short run with sampling writes gigabytes). The report is
exported to RUN/nsys.sqlite when the command ends.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path
from typing import Any

from pipesight import nsys_cli
from pipesight.errors import UserError

PARANOID = Path("/proc/sys/kernel/perf_event_paranoid")
PARANOID_MAX = 2  # nsys samples CPUs and traces context switches only at this level or below
TRACES = "cuda,nvtx,osrt"
# (option names, arguments): each left out when the user passes the option
DEFAULT_ARGS = [(("-s", "--sample"), ["-s", "none"]),
                (("--cpuctxsw",), ["--cpuctxsw=none"]),
                (("--cuda-graph-trace",), ["--cuda-graph-trace=node"])]


def perf_event_paranoid() -> int | None:
    try:
        return int(PARANOID.read_text().strip())
    except (OSError, ValueError):
        return None


def paranoid_advice(level: int | None) -> str | None:
    if level is None or level <= PARANOID_MAX:
        return None
    return (f"perf_event_paranoid is {level}: nsys cannot sample CPUs or trace context switches"
            f" (pipesight leaves them off by default). To allow them: sudo sh -c 'echo "
            f"{PARANOID_MAX} > {PARANOID}'")


def _help(exe: str) -> str:
    try:
        r = subprocess.run([exe, "profile", "--help"], capture_output=True, text=True,
                           timeout=60)
        return r.stdout + r.stderr
    except (OSError, subprocess.TimeoutExpired):
        return ""


def _version(exe: str) -> str | None:
    try:
        r = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
        return (r.stdout or r.stderr).strip() or None
    except (OSError, subprocess.TimeoutExpired):
        return None


def is_python(argv: list[str]) -> bool:
    name = Path(argv[0]).name
    if name.startswith("python"):
        return True
    try:
        with open(argv[0], "rb") as f:
            first = f.readline(200)
        return first.startswith(b"#!") and b"python" in first
    except OSError:
        return False


def wrap(argv: list[str], run_dir: Path, extra: str | None = None) -> tuple[list[str], dict]:
    """The command line that runs argv under nsys profile, and what the manifest records."""
    exe = nsys_cli.nsys_exe()
    if exe is None:
        raise UserError("--nsys: nsys (Nsight Systems) is not on PATH; install it or set "
                        "NSYS=/path/to/nsys")
    traces = TRACES
    helptext = _help(exe)
    if is_python(argv) and "python-gil" in helptext:
        traces += ",python-gil"
    user = shlex.split(extra) if extra else []
    given = {u.split("=", 1)[0] for u in user if u.startswith("-")}
    args = [a for names, part in DEFAULT_ARGS if not given & set(names) for a in part]
    # the user's -t/--trace replaces pipesight's (nsys takes the option once)
    mine = [] if given & {"-t", "--trace"} else ["-t", traces]
    if not mine:
        traces = next((u.split("=", 1)[1] if "=" in u else user[i + 1]
                       for i, u in enumerate(user) if u.split("=", 1)[0] in ("-t", "--trace")
                       and ("=" in u or i + 1 < len(user))), traces)
    cmd = [exe, "profile", *mine, *args, *user, "-o", str(run_dir / "nsys"),
           "--force-overwrite", "true", *argv]
    level = perf_event_paranoid()
    info: dict[str, Any] = {"exe": exe, "version": _version(exe), "traces": traces,
                            "command": cmd, "perf_event_paranoid": level}
    advice = paranoid_advice(level)
    if advice:
        info["advice"] = advice
    return cmd, info


def export(run_dir: Path) -> dict[str, Any]:
    """RUN/nsys.nsys-rep -> RUN/nsys.sqlite; what happened, for the manifest."""
    rep = run_dir / "nsys.nsys-rep"
    if not rep.exists():
        return {"export": None, "error": "nsys wrote no report (did the command start?)"}
    try:
        out = nsys_cli.export(rep, run_dir / "nsys.sqlite")
    except UserError as e:
        return {"export": None, "error": str(e)}
    return {"export": out.name}
