"""Run-to-run noise of the numbers `pipesight compare` reads, against its default margins.

For each lab scenario: `pipesight profile --repeat N` (the planted pipeline, unchanged), then
for every pair of repeats the comparison `compare` would make without repeats. Prints, per
metric, the spread over the repeats (coefficient of variation for rates and times, standard
deviation in points for percentages) and how often the default margin took a repeat-to-repeat
difference for a change (false alarms), with the throughput status of each pair.

    .venv/bin/python bench/compare_noise.py [--repeat 4] [--duration 3.5] [NAME ...]
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from pipesight.compare.noise import SPECS
from pipesight.compare.values import spreads
from pipesight.lab import runner
from pipesight.lab.scenarios import by_name
from pipesight.workflows.sides import compare_paths, load_side

MIN_MS = 0.1  # times below this are left out of the spread: tiny elements, large relative noise


def profile(name: str, repeat: int, duration: float, out: Path) -> Path:
    s = by_name(name)
    if s is None:
        sys.exit(f"no scenario {name}")
    run = out / name
    cmd = [sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--repeat",
           str(repeat), "--duration", str(duration), "--delay", str(min(s.delay_s, 1.5)),
           "--json", "--", *runner.command(s, runner.default_names(s))]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return run


def spread_table(run: Path) -> dict[str, list[float]]:
    """metric -> per-subject spread (CV for relative metrics, sd in points otherwise)."""
    side = load_side(run)
    out: dict[str, list[float]] = defaultdict(list)
    for (_section, _subject), metrics in spreads(side.runs).items():
        for m, sp in metrics.items():
            if sp.sd is None:
                continue
            s = SPECS[m]
            if s.rel:
                if sp.mean < (MIN_MS if s.unit == "ms" else 1e-9):
                    continue
                out[m].append(sp.sd / sp.mean)
            else:
                out[m].append(sp.sd)
    return out


def false_alarms(run: Path, n: int) -> tuple[dict[str, list[int]], list[str]]:
    """metric -> [counted as changed, compared] over every pair of repeats; statuses."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    statuses = []
    for i, j in itertools.combinations(range(1, n + 1), 2):
        c = compare_paths(run / "repeats" / str(i), run / "repeats" / str(j))
        statuses.append(c.status)
        changes = [(c.throughput.metric, c.throughput)]
        changes += [(m, ch) for r in c.rows for m, ch in r.changes.items()]
        for m, ch in changes:
            if ch.a is None or ch.b is None:
                continue
            counts[m][1] += 1
            counts[m][0] += int(ch.significant)
    return counts, statuses


def halves(run: Path, n: int, tmp: Path) -> str:
    """The first half of the repeats against the second, each as a repeated run: the noise
    rule with measured spreads."""
    sides = []
    for k, idx in enumerate((range(1, n // 2 + 1), range(n // 2 + 1, n + 1))):
        d = tmp / f"{run.name}-half{k}"
        d.mkdir()
        (d / "manifest.json").write_text(json.dumps(
            {"repeats": [str(run / "repeats" / str(i)) for i in idx]}))
        sides.append(d)
    c = compare_paths(*sides)
    t = c.throughput
    return (f"{c.status}: throughput {t.a:.1f} vs {t.b:.1f} fps, counts beyond "
            f"±{t.threshold:.1f} fps ({t.basis})")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("names", nargs="*", default=["encoder", "decoy", "sink-sync"])
    ap.add_argument("--repeat", type=int, default=4)
    ap.add_argument("--duration", type=float, default=3.5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="pipesight-noise-") as tmp:
        for name in a.names:
            run = profile(name, a.repeat, a.duration, Path(tmp))
            sp = spread_table(run)
            fa, statuses = false_alarms(run, a.repeat)
            fps = [v.get("throughput_fps") for v in load_side(run).runs]
            print(f"\n## {name}: {a.repeat} runs of {a.duration:g} s, throughput "
                  + ", ".join(f"{x:.1f}" for x in fps if x is not None) + " fps")
            print("pair statuses: " + ", ".join(f"{s} x{statuses.count(s)}"
                                                 for s in sorted(set(statuses))))
            if a.repeat >= 4:
                print("first half of the repeats against the second: "
                      + halves(run, a.repeat, Path(tmp)))
            print("| metric | spread over repeats (median, max) | default margin "
                  "| counted as changed, pairs of repeats |")
            print("|---|---|---|---|")
            for m in SPECS:
                if m not in sp and m not in fa:
                    continue
                s = SPECS[m]
                vals = sp.get(m, [])
                if vals:
                    fmt = (lambda x: f"{100 * x:.1f}%") if s.rel else (lambda x: f"{x:.2f} pt")
                    spread = f"{fmt(statistics.median(vals))}, {fmt(max(vals))}"
                else:
                    spread = "-"
                margin = (f"{100 * s.rel:g}% or {s.abs:g}" if s.rel else f"{s.abs:g} pt")
                k, total = fa.get(m, [0, 0])
                print(f"| {m} | {spread} | {margin} | {k} of {total} |")


if __name__ == "__main__":
    main()
