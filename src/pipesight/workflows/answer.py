"""From an input (run directory or file) to a verdict: read, measure, judge.

A repeated run (`profile --repeat N`) is an input too: every repeat is analysed and the one
nearest the median throughput answers, carrying the spread over all (workflows/repeats.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipesight import metrics as metrics_mod
from pipesight.errors import UserError
from pipesight.findings import Verdict
from pipesight.metrics import Metrics
from pipesight.readers import load
from pipesight.readers.run_dir import repeat_dirs
from pipesight.trace import Trace
from pipesight.trace.ceiling import Ceiling
from pipesight.verdict import build_verdict
from pipesight.workflows.repeats import relative, repeat_summary, representative

REPEATED = "repeated run"


@dataclass
class Answer:
    trace: Trace  # for a repeated run: the representative's
    metrics: Metrics
    verdict: Verdict  # for a repeated run: the representative's, with ``run.repeat``
    kind: str  # the input's format, or REPEATED
    # a repeated run: every repeat's verdict (the representative's among them) and directory
    repeats: list[Verdict] = field(default_factory=list)
    repeat_dirs: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # repeats that could not be read


def analyze_trace(trace: Trace, delay_s: float | None = None) -> tuple[Metrics, Verdict]:
    if delay_s is None:
        delay_s = float(trace.run.get("delay_s") or 0.0)
    m = metrics_mod.compute(trace, delay_s)
    v = build_verdict(trace, m)
    v.run.setdefault("notes", [])
    return m, v


def answer(path: Path, delay_s: float | None = None, ceiling: Ceiling | None = None
           ) -> Answer:
    dirs = repeat_dirs(path)
    if dirs is not None:
        return _repeated(path, dirs, delay_s, ceiling)
    trace, kind = load(path)
    if ceiling is not None:
        trace.ceiling = ceiling
    m, v = analyze_trace(trace, delay_s)
    return Answer(trace, m, v, kind)


def analyze_path(path: Path, delay_s: float | None = None, ceiling: Ceiling | None = None
                 ) -> tuple[Trace, Metrics, Verdict, str]:
    a = answer(path, delay_s, ceiling)
    return a.trace, a.metrics, a.verdict, a.kind


def _repeated(path: Path, dirs: list[Path], delay_s: float | None, ceiling: Ceiling | None
              ) -> Answer:
    done: list[Answer] = []
    read: list[Path] = []
    skipped: list[str] = []
    for d in dirs:
        try:
            done.append(answer(d, delay_s, ceiling))
            read.append(d)
        except UserError as e:
            skipped.append(f"{relative(d, path)}: {e}")
    if not done:
        raise UserError(f"{path}: a repeated run, but none of its repeats could be read ("
                        + "; ".join(skipped or [str(d) for d in dirs]) + ")")
    verdicts = [a.verdict for a in done]
    i = representative([v.throughput_fps or 0.0 for v in verdicts])
    rep = done[i]
    rep.verdict.run["repeat"] = repeat_summary(verdicts, [relative(d, path) for d in read],
                                               skipped)
    return Answer(rep.trace, rep.metrics, rep.verdict, REPEATED, verdicts, read,
                  [f"repeat {s} skipped" for s in skipped])
