"""The model-alone ceiling a user gives (``--ceiling``): a number, a ``pipesight bench-model
--json`` report, or a trtexec log. Each says what it leaves out of the pipeline's work."""

from __future__ import annotations

import json
import math
from pathlib import Path

from pipesight.errors import UserError
from pipesight.readers.checks import is_int, is_number
from pipesight.trace.ceiling import Ceiling

MAX_FPS = 1e9
MAX_BATCH = 1 << 16
MAX_SIZE = 1 << 16
BENCH_LEAVES_OUT = ["decoding", "pre-processing (colour conversion, scaling)",
                    "host-device copies (inputs already on the GPU)", "post-processing"]


def read(spec: str) -> Ceiling:
    try:
        fps = float(spec)
    except ValueError:
        fps = None
    if fps is not None:
        if not math.isfinite(fps) or fps <= 0:
            raise UserError(f"--ceiling {spec}: frames per second must be a positive number")
        return Ceiling(fps=fps, source="given as a number",
                       leaves_out=["not stated: batch, precision and what was timed are unknown"])
    from pipesight.readers.source import resolve

    try:
        named = spec == "-" or Path(spec).exists()
    except OSError:  # a name too long for a path, say
        named = False
    if not named:
        raise UserError(f"--ceiling {spec}: not a number and not a file (a bench-model JSON "
                        "report or a trtexec log)")
    try:
        p = resolve(spec)
    except UserError as e:
        raise UserError(f"--ceiling {e}") from None
    if not p.is_file():
        raise UserError(f"--ceiling {spec}: a directory, not a bench-model report or a trtexec "
                        "log")
    try:
        text = p.read_text(errors="replace")
    except OSError as e:
        raise UserError(f"--ceiling {spec}: {e.strerror or e}") from None
    if text.lstrip().startswith("{"):
        return _bench_model(text, p)
    return _trtexec(text, p)


def _bench_model(text: str, p: Path) -> Ceiling:
    try:
        d = json.loads(text)
    except json.JSONDecodeError as e:
        raise UserError(f"--ceiling {p}: not valid JSON ({e.msg}, line {e.lineno})") from None
    c = d.get("ceiling") if isinstance(d, dict) else None
    if not isinstance(c, dict) or not is_number(c.get("fps"), 1e-9, MAX_FPS):
        raise UserError(f"--ceiling {p}: a bench-model report without a ceiling (no backend ran "
                        "at its batch, size and precision)")
    size = d.get("input_size")
    return Ceiling(
        fps=float(c["fps"]), source=f"bench-model {p.name} ({c.get('backend')})",
        batch=d.get("batch") if is_int(d.get("batch"), 1, MAX_BATCH) else None,
        precision=d.get("precision") if isinstance(d.get("precision"), str) else None,
        input_size=(size, size) if is_int(size, 1, MAX_SIZE) else None,
        model=d.get("model") if isinstance(d.get("model"), str) else None,
        leaves_out=list(BENCH_LEAVES_OUT))


def _trtexec(text: str, p: Path) -> Ceiling:
    from pipesight.readers.trtexec_log import parse_text

    run = parse_text(text, str(p))
    try:
        fps = run.fps
    except OverflowError:  # a batch of hundreds of digits
        fps = math.inf
    if not (is_number(fps, 1e-9, MAX_FPS) and is_int(run.batch, 1, MAX_BATCH)):
        raise UserError(f"--ceiling {p}: the trtexec log's throughput or batch is not one a "
                        "GPU reaches (a damaged log?)")
    size = run.input_size
    if size and not all(is_int(x, 1, MAX_SIZE) for x in size[:2]):
        size = None
    leaves = ["decoding", "pre-processing", "post-processing"]
    if not run.data_transfers:
        leaves.insert(0, "host-device copies (trtexec --noDataTransfers)")
    return Ceiling(fps=fps, source=f"trtexec log {p.name}", batch=run.batch,
                   precision=run.precision_name,
                   input_size=(size[1], size[0]) if size else None, leaves_out=leaves)
