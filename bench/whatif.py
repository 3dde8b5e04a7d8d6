"""What-if, validated: each lab scenario's predictions against the rate measured after applying
the fix they are for.

For each scenario, --runs times: profile the planted pipeline (`pipesight lab run NAME`), read
the fixes its verdict proposes with their predicted rates, then profile the fixed variant
(`--fixed`, which applies the scenario's `fix_action`) and every variant (`--variant FIX`) under
the same instrumentation, and pair each prediction with the rate measured after its fix. A
"rate" prediction's error is (predicted - measured) / measured; an "upper" bound holds when the
measured rate is not above it. Fixes the model puts no number on are listed with the reason.

    .venv/bin/python bench/whatif.py [--runs 3] [--json OUT] [NAME ...]

Prints a markdown table for docs/benchmarks.md (machine, date, load in its header).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from pipesight.capture.host import describe
from pipesight.lab import runner
from pipesight.lab.scenarios import SCENARIOS

TARGET = 0.15  # rate predictions: within 15%


def _fix(v, action: str):
    return next((f for f in v.bottleneck.fixes if f.action == action), None)


def _run(s, **kw) -> float | None:
    out = Path(tempfile.mkdtemp(prefix=f"whatif-{s.name}-")) / "run"
    res = runner.run(s, out, **kw)
    return res.verdict, res.verdict.throughput_fps


def measure(s, runs: int) -> list[dict]:
    actions = [(s.fix_action, {"fixed": True})] + [(v.action, {"variant": v.action})
                                                   for v in s.variants]
    rows = {a: {"scenario": s.name, "fix": a, "predicted": [], "measured": [], "bound": None,
                "basis": "", "before": [], "verdicts": []} for a, _ in actions}
    for _ in range(runs):
        v, fps = _run(s)
        for a, kw in actions:
            f = _fix(v, a)
            r = rows[a]
            r["before"].append(fps)
            r["verdicts"].append(f"{v.bottleneck.kind}:{v.bottleneck.element}")
            r["predicted"].append(None if f is None else f.predicted_fps)
            if f is not None:
                r["bound"], r["basis"] = f.bound, f.basis
            _, after = _run(s, **kw)
            r["measured"].append(after)
    return list(rows.values())


def summarise(r: dict) -> dict:
    pairs = [(p, m) for p, m in zip(r["predicted"], r["measured"], strict=True)
             if p is not None and m]
    r["measured_median"] = statistics.median(m for m in r["measured"] if m) \
        if any(r["measured"]) else None
    r["before_median"] = statistics.median(b for b in r["before"] if b) \
        if any(r["before"]) else None
    preds = [p for p in r["predicted"] if p is not None]
    if not pairs:
        r.update(predicted_median=statistics.median(preds) if preds else None, errors_pct=[],
                 error_median_pct=None, held=None)
        return r
    errs = [100 * (p - m) / m for p, m in pairs]
    r["predicted_median"] = statistics.median(p for p, _ in pairs)
    r["errors_pct"] = [round(e, 1) for e in errs]
    r["error_median_pct"] = round(statistics.median(errs), 1)
    if r["bound"] == "upper":
        r["held"] = all(p >= m for p, m in pairs)
    else:
        r["held"] = all(abs(e) <= 100 * TARGET for e in errs)
    return r


def table(rows: list[dict]) -> str:
    out = ["| scenario | fix (variant) | before fps | predicted fps | kind | measured after fix "
           "| error per run | held |", "|---|---|---:|---:|---|---:|---|---|"]
    for r in rows:
        after = ("too fast to measure" if r["measured_median"] is None
                 else f"{r['measured_median']:.1f}")
        if r["predicted_median"] is None or r["measured_median"] is None:
            pred = "no number" if r["predicted_median"] is None else \
                f"{r['predicted_median']:.1f}"
            why = r["basis"][:80] if r["predicted_median"] is None else \
                "the fixed pipeline ends before a window can be measured"
            out.append(f"| {r['scenario']} | {r['fix']} | {r['before_median']:.1f} | {pred} "
                       f"| {r['bound'] or '—'} | {after} | {why} | — |")
            continue
        kind = "at most" if r["bound"] == "upper" else "rate"
        errs = ", ".join(f"{e:+.0f}%" for e in r["errors_pct"])
        held = ("yes" if r["held"] else "NO")
        out.append(f"| {r['scenario']} | {r['fix']} | {r['before_median']:.1f} | "
                   f"{r['predicted_median']:.1f} | {kind} | {r['measured_median']:.1f} | "
                   f"{errs} | {held} |")
    return "\n".join(out)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", type=Path)
    ap.add_argument("--table-from", type=Path, metavar="JSON",
                    help="print the table of an earlier --json output, measuring nothing")
    ap.add_argument("names", nargs="*")
    a = ap.parse_args()
    if a.table_from:
        data = json.loads(a.table_from.read_text())
        print(data["header"] + "\n\n" + table([summarise(r) for r in data["rows"]]))
        return 0
    rows: list[dict] = []
    load0 = os.getloadavg()
    for s in SCENARIOS:
        if a.names and s.name not in a.names:
            continue
        for r in measure(s, a.runs):
            rows.append(summarise(r))
            print(f"{r['scenario']:15s} {r['fix']:13s} predicted {r['predicted']} measured "
                  f"{[round(m or 0, 1) for m in r['measured']]}", file=sys.stderr, flush=True)
    load1 = os.getloadavg()
    host = describe()
    head = (f"{datetime.now(UTC).date().isoformat()}, {host['cpu']}, {host['cpus']} cores, "
            f"{a.runs} runs each, load average {load0[0]:.1f} at the start and {load1[0]:.1f} "
            "at the end")
    if a.json:
        a.json.write_text(json.dumps({"header": head, "rows": rows}, indent=1, default=str))
    print(head)
    print()
    print(table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
