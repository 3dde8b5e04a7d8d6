#!/usr/bin/env python3
"""Time and peak memory of `pipesight analyze` on a large Nsight Systems-shaped export, side by
side in one run with the same kernel summary done by SQLite alone (what `nsys stats -r
cuda_gpu_kern_sum` runs) and, optionally, with another pipesight source tree (``--baseline``,
e.g. the code before a change, unpacked with `git archive`). Runs alternate A B C A B C ...
The export is made here with SQL: N kernels on one stream, one launch call each, and an NVTX
range per 10 kernels (no GPU needed; the GPU machine's real 1 GB run is
bench/gpu/bench_nsys_big.sh). 3,000,000 kernels make 231 MB; 13,300,000 about 1 GB.

    python3 bench/nsys_read_bench.py --kernels 3000000 --keep /tmp/big.sqlite
    python3 bench/nsys_read_bench.py --export /tmp/big.sqlite --baseline /tmp/old/src --runs 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from common import measure  # noqa: E402

PID, TID = 4242, 77
SCHEMA = """
CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE ThreadNames (nameId INTEGER, priority INTEGER, globalTid INTEGER);
CREATE TABLE META_DATA_EXPORT (name TEXT, value TEXT);
CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, deviceId INTEGER,
    contextId INTEGER, streamId INTEGER, correlationId INTEGER, globalPid INTEGER,
    demangledName INTEGER, shortName INTEGER, graphNodeId INTEGER, graphId INTEGER);
CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (start INTEGER, end INTEGER, eventClass INTEGER,
    globalTid INTEGER, correlationId INTEGER, nameId INTEGER, returnValue INTEGER,
    callchainId INTEGER);
CREATE TABLE NVTX_EVENTS (start INTEGER, end INTEGER, eventType INTEGER, rangeId INTEGER,
    category INTEGER, color INTEGER, text TEXT, globalTid INTEGER, endGlobalTid INTEGER,
    textId INTEGER, domainId INTEGER);
"""
KERN_SUM = ("SELECT s.value, sum(k.end - k.start), count(*), avg(k.end - k.start), "
            "min(k.end - k.start), max(k.end - k.start) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
            "JOIN StringIds s ON s.id = k.demangledName GROUP BY 1")


def build(path: Path, n: int, per_call: int = 1) -> None:
    """``per_call``: kernels launched by each call (1: a launch per kernel; more: as a CUDA
    graph's launch, whose kernels nsys traces one by one)."""
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    g, p = (PID << 24) | TID, PID << 24
    con.executemany("INSERT INTO StringIds VALUES (?, ?)", [
        (1, "void conv_kernel<float>(float const*, float*)"), (2, "cudaLaunchKernel_v7000"),
        (3, "infer")])
    con.execute("INSERT INTO ThreadNames VALUES (3, 10, ?)", (g,))
    con.execute("INSERT INTO META_DATA_EXPORT VALUES ('EXPORT_PRODUCT_VERSION', 'bench')")
    seq = f"WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {n - 1})"
    k = per_call
    con.execute(f"INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL {seq} SELECT 1000000 + i * 3000, "
                f"1002000 + i * 3000 + (i % 7) * 100, 0, 1, 7, i / {k} + 1, {p}, 1, 1, "
                f"{'NULL' if k == 1 else 'i % ' + str(k)}, {'NULL' if k == 1 else 1} FROM c")
    con.execute(f"INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME {seq} SELECT 990000 + i * 3000 * {k}, "
                f"992000 + i * 3000 * {k}, 1, {g}, i + 1, 2, 0, NULL FROM c WHERE i < {n} / {k}")
    con.execute(f"INSERT INTO NVTX_EVENTS {seq} SELECT 990000 + i * 30000, 1019000 + i * 30000,"
                f" 59, NULL, 0, 0, 'step ' || (i % 1000), {g}, NULL, NULL, 0 FROM c "
                f"WHERE i < {n // 10}")
    con.commit()
    con.close()


def _analyze(src: Path, db: Path) -> list[str]:
    return ["env", f"PYTHONPATH={src}", sys.executable, "-m", "pipesight", "analyze", "--json",
            str(db)]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernels", type=int, default=3_000_000)
    ap.add_argument("--per-call", type=int, default=1, help="kernels per launch call")
    ap.add_argument("--export", type=Path, help="measure this export (made if missing)")
    ap.add_argument("--keep", type=Path, help="make the export here and keep it")
    ap.add_argument("--baseline", type=Path, help="another pipesight src/ to measure alongside")
    ap.add_argument("--runs", type=int, default=1)
    a = ap.parse_args()
    db = a.export or a.keep or Path(tempfile.mkdtemp(prefix="pipesight-bench-")) / "big.sqlite"
    if not db.exists():
        t = time.perf_counter()
        build(db, a.kernels, a.per_call)
        print(json.dumps({"built": str(db), "kernels": a.kernels, "per_call": a.per_call,
                          "build_s": round(time.perf_counter() - t, 1)}))
    print(json.dumps({"export_mb": round(db.stat().st_size / 2**20, 1), "cpus": os.cpu_count(),
                      "load_avg": [round(x, 2) for x in os.getloadavg()]}))
    cmds = {"sqlite-kernel-summary": [sys.executable, "-c", "import sqlite3, sys; "
                                      f"sqlite3.connect(sys.argv[1]).execute({KERN_SUM!r})"
                                      ".fetchall()", str(db)],
            "pipesight-analyze": _analyze(HERE.parent / "src", db)}
    if a.baseline:
        cmds["pipesight-analyze-baseline"] = _analyze(a.baseline, db)
    got: dict[str, list] = {k: [] for k in cmds}
    for _ in range(a.runs):
        for label, cmd in cmds.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            s = measure(cmd)
            after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
            row = {"label": label, "exit": s.returncode, "wall_s": round(s.wall_s, 2),
                   "cpu_s": round(s.cpu_s, 2), "peak_tree_mb": round(s.peak_tree_mb, 1),
                   # largest single process so far (getrusage): exact for this run when it
                   # grows past the earlier ones
                   "max_rss_mb": round(after / 1024, 1) if after > before else None}
            got[label].append(row)
            print(json.dumps(row), flush=True)
    if a.runs > 1:
        for label, rows in got.items():
            print(json.dumps({"label": label, "median_wall_s": statistics.median(
                r["wall_s"] for r in rows), "median_cpu_s": statistics.median(
                r["cpu_s"] for r in rows), "max_peak_tree_mb": max(
                r["peak_tree_mb"] for r in rows)}))
    if not (a.export or a.keep):
        os.unlink(db)
        db.parent.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
