#!/usr/bin/env python3
"""Runs a command and prints one JSON line: its wall time, CPU time and peak resident memory
(its own and its children's, from getrusage: the largest single process).

    python3 bench/gpu/measure.py LABEL -- COMMAND [ARGS...]
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time


def main() -> int:
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        print("usage: measure.py LABEL -- COMMAND [ARGS...]", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rc = subprocess.call(sys.argv[3:])
    wall = time.perf_counter() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"label": sys.argv[1], "exit": rc, "wall_s": round(wall, 2),
                      "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
                      "peak_rss_mb": round(ru.ru_maxrss / 1024, 1)}), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
