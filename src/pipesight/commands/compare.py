"""pipesight compare A B [--json] [--html FILE] [--fail-if-slower PCT] [--margin PCT]"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipesight.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    cp = sub.add_parser("compare", help="what a change did: two runs side by side",
                        description="Compare run B with run A: throughput, time per element, "
                        "thread load, queues, drops, GPU; whether each change exceeds the noise "
                        "(measured over `profile --repeat` runs, else a default margin); where "
                        "the bottleneck moved. A and B: run directories, verdict.json files or "
                        "any file `pipesight analyze` reads.")
    cp.add_argument("a", metavar="A", help="the run before the change")
    cp.add_argument("b", metavar="B", help="the run after the change")
    cp.add_argument("--json", action="store_true", help="print the comparison as JSON only")
    cp.add_argument("--html", metavar="FILE", help="also write a side-by-side HTML view")
    cp.add_argument("--fail-if-slower", type=float, metavar="PCT",
                    help="CI gate: exit 5 when B's throughput is more than PCT%% below A's")
    cp.add_argument("--margin", type=float, metavar="PCT",
                    help="without repeats, the relative margin for throughput and time per "
                    "buffer (default 5%% and 20%%)")
    cp.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    from pipesight.compare.diff import compare
    from pipesight.render import compare_json, compare_terminal
    from pipesight.workflows.gates import EXIT_GATE, Noise, slower
    from pipesight.workflows.sides import load_side

    if a.fail_if_slower is not None and not 0 <= a.fail_if_slower < 100:
        raise UserError("--fail-if-slower takes a percentage from 0 to 100")
    if a.margin is not None and not 0 < a.margin < 100:
        raise UserError("--margin takes a percentage above 0 and under 100")
    from pipesight.readers.source import resolve, unspool

    side_a, side_b = load_side(resolve(a.a)), load_side(resolve(a.b))
    for side in (side_a, side_b):  # a pipe's copy is labelled as the user named it
        side.label = unspool(side.label)
        side.notes = [unspool(n) for n in side.notes]
    c = compare(side_a, side_b, margin_pct=a.margin)
    reason = note = None
    if a.fail_if_slower is not None:
        t = c.throughput
        reason, note = slower(t.a, t.b, a.fail_if_slower, Noise(
            c.noise_basis, t.threshold, t.significant, (c.a.runs, c.b.runs)))
        c.gate = {"fail_if_slower_pct": a.fail_if_slower, "failed": reason is not None,
                  "reason": reason, "note": note}
    if a.html:
        from pipesight.render.compare_page import page

        try:
            Path(a.html).write_text(page(c, side_a, side_b), encoding="utf-8")
        except OSError as e:
            raise UserError(f"cannot write {e.filename or a.html}: {e.strerror}") from None
    if a.json:
        sys.stdout.write(compare_json.dumps(c) + "\n")
    else:
        compare_terminal.render(c)
        if a.html:
            print(f"Side by side: {a.html}")
    if note is not None:
        print(f"pipesight: gate passed: {note}", file=sys.stderr)
    if reason is not None:
        print(f"pipesight: gate failed: {reason}", file=sys.stderr)
        return EXIT_GATE
    return 0
