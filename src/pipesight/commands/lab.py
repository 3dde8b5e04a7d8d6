"""pipesight lab list | lab run NAME: pipelines with known, planted bottlenecks."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    lb = sub.add_parser("lab", help="pipelines with known, planted bottlenecks")
    lsub = lb.add_subparsers(dest="lab_cmd", metavar="ACTION")
    lsub.add_parser("list", help="list the scenarios")
    lr = lsub.add_parser("run", help="profile one scenario and check the verdict")
    lr.add_argument("name")
    lr.add_argument("--renamed", action="store_true", help="rename every element first")
    lr.add_argument("--fixed", action="store_true", help="run the scenario's fixed variant")
    lr.add_argument("--variant", metavar="FIX", help="run the variant that applies the "
                    "verdict's fix FIX (e.g. queue-before; `lab list` shows them)")
    lr.add_argument("-o", "--output", metavar="RUN_DIR")
    lr.add_argument("--duration", type=float, default=None, metavar="S")
    lr.add_argument("--json", action="store_true")
    lg = lsub.add_parser("gpu", help="the DeepStream-shaped GPU pipeline, naive or tuned")
    from pipesight.lab.gpu.cli import add_arguments

    add_arguments(lg)
    lb.set_defaults(func=run, _lab_parser=lb)


def run(a: argparse.Namespace) -> int:
    if not a.lab_cmd:
        a._lab_parser.print_help()
        return 2
    if a.lab_cmd == "gpu":
        from pipesight.lab.gpu.cli import run_gpu

        return run_gpu(a)
    from pipesight.lab import cli as lab_cli

    return lab_cli.run(a)
