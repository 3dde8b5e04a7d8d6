#!/usr/bin/env python3
"""Time and peak memory of `pipesight analyze` on a large Nsight Systems-shaped export, side by
side with the same kernel summary done by SQLite alone (what `nsys stats -r cuda_gpu_kern_sum`
runs), in one run. The export is made here with SQL: N kernels on one stream, one launch call
each, and an NVTX range per 10 kernels (no GPU needed; the GPU machine's real 1 GB run is
bench/gpu/bench_nsys_big.sh).

    python3 bench/nsys_read_bench.py [--kernels 3000000] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
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


def build(path: Path, n: int) -> None:
    con = sqlite3.connect(path)
    con.executescript(SCHEMA)
    g, p = (PID << 24) | TID, PID << 24
    con.executemany("INSERT INTO StringIds VALUES (?, ?)", [
        (1, "void conv_kernel<float>(float const*, float*)"), (2, "cudaLaunchKernel_v7000"),
        (3, "infer")])
    con.execute("INSERT INTO ThreadNames VALUES (3, 10, ?)", (g,))
    con.execute("INSERT INTO META_DATA_EXPORT VALUES ('EXPORT_PRODUCT_VERSION', 'bench')")
    seq = f"WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < {n - 1})"
    con.execute(f"INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL {seq} SELECT 1000000 + i * 3000, "
                f"1002000 + i * 3000 + (i % 7) * 100, 0, 1, 7, i + 1, {p}, 1, 1, NULL, NULL "
                "FROM c")
    con.execute(f"INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME {seq} SELECT 990000 + i * 3000, "
                f"992000 + i * 3000, 1, {g}, i + 1, 2, 0, NULL FROM c")
    con.execute(f"INSERT INTO NVTX_EVENTS {seq} SELECT 990000 + i * 30000, 1019000 + i * 30000,"
                f" 59, NULL, 0, 0, 'step ' || (i % 1000), {g}, NULL, NULL, 0 FROM c "
                f"WHERE i < {n // 10}")
    con.commit()
    con.close()


def measure(label: str, cmd: list[str]) -> dict:
    r = subprocess.run([sys.executable, str(HERE / "gpu" / "measure.py"), label, "--", *cmd],
                       capture_output=True, text=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--kernels", type=int, default=3_000_000)
    ap.add_argument("--keep", action="store_true", help="keep the export")
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp(prefix="pipesight-bench-"))
    db = d / "big.sqlite"
    t = time.perf_counter()
    build(db, a.kernels)
    print(json.dumps({"export_mb": round(db.stat().st_size / 2**20, 1), "kernels": a.kernels,
                      "build_s": round(time.perf_counter() - t, 1)}))
    kern_sum = ("SELECT s.value, sum(k.end - k.start), count(*), avg(k.end - k.start), "
                "min(k.end - k.start), max(k.end - k.start) FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                "JOIN StringIds s ON s.id = k.demangledName GROUP BY 1")
    rows = [
        measure("sqlite-kernel-summary", [sys.executable, "-c", "import sqlite3, sys; "
                f"print(sqlite3.connect(sys.argv[1]).execute({kern_sum!r}).fetchall())",
                str(db)]),
        measure("pipesight-analyze", [sys.executable, "-m", "pipesight", "analyze", "--json",
                                      str(db)]),
    ]
    for r in rows:
        print(json.dumps(r))
    if not a.keep:
        os.unlink(db)
        d.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
