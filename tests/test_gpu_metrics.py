"""GPU metrics against values computed here independently: plain Python over rows fetched
with SQL, nsys's own gap method restated in SQL, brute force over small integer timelines."""

from __future__ import annotations

import itertools
import sqlite3
import statistics
from pathlib import Path

import numpy as np
import pytest

from pipesight.metrics import intervals as iv
from pipesight.metrics.gpu import (
    NSYS_GPU_OVERHEAD,
    device_use,
    kernel_summary,
    nsys_gaps,
    nsys_time_util,
)
from pipesight.metrics.gpu_threads import links, nvtx_gpu_time
from pipesight.readers import nsys

EXPORTS = ["nsys/nsys-2022.2_a100_saxpy-mpi-cuda.sqlite",
           "nsys/nsys-2026.1_rtx3080_torch-zeros_full.sqlite",
           "nsys/nsys-2026.2_h100x2_fastvideo_1s-window.sqlite"]
OPS = ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY", "CUPTI_ACTIVITY_KIND_MEMSET")


def rows(path: Path, q: str, *args) -> list[tuple]:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(q, args).fetchall()
    finally:
        con.close()


def ops_sql(path: Path) -> str:
    have = {r[0] for r in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    parts = [f"SELECT start, end, (globalPid >> 24) & 16777215 AS pid, deviceId FROM {t} "
             "WHERE start > 0" for t in OPS if t in have]
    return " UNION ALL ".join(parts)


def overhead_rows(path: Path, device: int) -> list[tuple[int, int]]:
    """Profiler overhead nsys counts as GPU time: named as in NSYS_GPU_OVERHEAD, inside the
    span of its process's operations on the device."""
    have = {r[0] for r in rows(path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "PROFILER_OVERHEAD" not in have:
        return []
    marks = ",".join("?" * len(NSYS_GPU_OVERHEAD))
    q = (f"WITH ops AS ({ops_sql(path)}), span AS (SELECT pid, min(start) lo, max(end) hi "
         f"FROM ops WHERE deviceId = {device} GROUP BY pid) SELECT o.start, o.end FROM "
         "PROFILER_OVERHEAD o JOIN StringIds s ON s.id = o.nameId JOIN span ON "
         f"span.pid = (o.globalTid >> 24) & 16777215 WHERE s.value IN ({marks}) AND "
         "o.start > span.lo AND o.end < span.hi")
    return rows(path, q, *NSYS_GPU_OVERHEAD)


def merge(pairs: list[tuple[int, int]]) -> list[list[int]]:
    out: list[list[int]] = []
    for s, e in sorted(pairs):
        if out and s <= out[-1][1]:
            out[-1][1] = max(out[-1][1], e)
        else:
            out.append([s, e])
    return out


# -- interval arithmetic against a boolean timeline ---------------------------------------------

def _mask(pairs, n):
    m = np.zeros(n, bool)
    for s, e in pairs:
        m[s:e] = True
    return m


def _runs(m):
    out, i = [], 0
    while i < len(m):
        if m[i]:
            j = i
            while j < len(m) and m[j]:
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


@pytest.mark.parametrize("seed", range(8))
def test_interval_arithmetic_matches_a_boolean_timeline(seed):
    rng = np.random.default_rng(seed)
    n = 400
    a_s = rng.integers(0, n - 20, 30)
    a = list(zip(a_s.tolist(), (a_s + rng.integers(1, 20, 30)).tolist(), strict=True))
    b_s = rng.integers(0, n - 20, 25)
    b = list(zip(b_s.tolist(), (b_s + rng.integers(1, 20, 25)).tolist(), strict=True))
    ma, mb = _mask(a, n), _mask(b, n)
    A = iv.union(np.array([p[0] for p in a]), np.array([p[1] for p in a]))
    B = iv.union(np.array([p[0] for p in b]), np.array([p[1] for p in b]))
    assert list(zip(A[0].tolist(), A[1].tolist(), strict=True)) == _runs(ma)
    assert iv.total(A) == int(ma.sum())
    gs, ge = iv.gaps(A)
    on = np.flatnonzero(ma)
    holes = [(lo + on[0], hi + on[0]) for lo, hi in _runs(~ma[on[0]:on[-1] + 1])]
    assert list(zip(gs.tolist(), ge.tolist(), strict=True)) == holes
    assert iv.total(iv.subtract(A, B)) == int((ma & ~mb).sum())
    assert iv.total(iv.intersect(A, B)) == int((ma & mb).sum())
    q = rng.integers(0, n, (20, 2))
    qs, qe = q.min(axis=1), q.max(axis=1)
    assert iv.overlap(A, qs, qe).tolist() == [int(ma[s:e].sum()) for s, e in zip(qs, qe,
                                                                                  strict=True)]
    edges = np.array([0, 37, 100, 101, 250, 399])
    raw_s = np.array([p[0] for p in a])
    raw_e = np.array([p[1] for p in a])
    summed = [sum(max(0, min(e, hi) - max(s, lo)) for s, e in a)
              for lo, hi in itertools.pairwise(edges.tolist())]
    assert iv.summed_overlap(raw_s, raw_e, edges).tolist() == summed


# -- device utilization on the corpus -------------------------------------------------------------

@pytest.mark.parametrize("name", EXPORTS)
def test_busy_span_and_gaps_match_plain_python(corpus, name):
    path = corpus / name
    g, _ = nsys.read(path)
    devices = [r[0] for r in rows(path, f"SELECT DISTINCT deviceId FROM ({ops_sql(path)}) "
                                        "ORDER BY 1")]
    assert g.devices == devices
    for d in devices:
        pairs = rows(path, f"SELECT start, end FROM ({ops_sql(path)}) WHERE deviceId = ?", d)
        merged = merge(pairs + overhead_rows(path, d))
        busy = sum(e - s for s, e in merged)
        holes = [(merged[i][1], merged[i + 1][0]) for i in range(len(merged) - 1)]
        big = [(s, e) for s, e in holes if e - s >= 1_000_000]
        u = device_use(g, d)
        assert (u.start, u.end) == (merged[0][0], merged[-1][1])
        assert u.busy_ns == busy
        assert u.gap_count == len(big)
        assert u.gap_ns == sum(e - s for s, e in big)
        assert u.all_idle_ns == sum(e - s for s, e in holes)
        assert u.busy_fraction == pytest.approx(busy / (merged[-1][1] - merged[0][0]))


def test_saxpy_known_shape(corpus):
    """The 2022 A100 run: 5 rounds of copy-in, kernel, copy-out, with ~0.2 s waits between."""
    g, _ = nsys.read(corpus / EXPORTS[0])
    u = device_use(g, 0)
    assert u.kernels == 5 and u.copies == 15 and u.memsets == 0
    assert u.gap_count == 4
    spacing, cv = u.spacing()
    assert spacing == pytest.approx(253.1e6, rel=1e-3)
    assert cv < 0.1  # the rounds are regular


NSYS_GAPS_SQL = """
WITH ops AS ({ops}),
starts AS (SELECT ROW_NUMBER() OVER (ORDER BY pid, deviceId, start) AS rn, start, pid, deviceId
           FROM ops),
ends AS (SELECT ROW_NUMBER() OVER (ORDER BY pid, deviceId, end) AS rn, end, pid, deviceId
         FROM ops)
SELECT ends.end, starts.start - ends.end FROM starts JOIN ends
  ON starts.rn - 1 = ends.rn AND starts.deviceId = ends.deviceId AND starts.pid = ends.pid
WHERE starts.start - ends.end > ? AND ends.end < starts.start AND ends.deviceId = ?
  AND ends.pid = ? ORDER BY 1
"""


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize("gap_ms", [1, 3])
def test_nsys_gaps_match_the_sorted_starts_and_ends_method(corpus, name, gap_ms):
    """nsys's gpu_gaps pairs the k-th smallest end with the (k+1)-th smallest start, per
    process and device; here that method in SQL against pipesight's union of intervals."""
    path = corpus / name
    g, _ = nsys.read(path)
    assert not overhead_rows(path, 0)  # these exports have none of the counted overheads
    for pid, dev in rows(path, f"SELECT DISTINCT pid, deviceId FROM ({ops_sql(path)})"):
        want = rows(path, NSYS_GAPS_SQL.format(ops=ops_sql(path)), gap_ms * 1_000_000, dev, pid)
        assert nsys_gaps(g, dev, pid, gap_ms) == [tuple(r) for r in want]


@pytest.mark.parametrize("name", EXPORTS)
@pytest.mark.parametrize(("chunks", "threshold"), [(10, 50), (30, 101), (7, 90), (1, 101)])
def test_nsys_time_util_matches_brute_force(corpus, name, chunks, threshold):
    path = corpus / name
    g, _ = nsys.read(path)
    for pid, dev in rows(path, f"SELECT DISTINCT pid, deviceId FROM ({ops_sql(path)})"):
        ops = rows(path, f"SELECT start, end FROM ({ops_sql(path)}) WHERE pid = ? AND "
                         "deviceId = ?", pid, dev)
        lo, hi = min(s for s, _ in ops), max(e for _, e in ops)
        size = -(-(hi - lo) // chunks)
        chunk_rows = []
        for i in range(chunks):
            cs, ce = lo + i * size, min(lo + (i + 1) * size, hi)
            if cs >= ce:
                continue
            used = sum(max(0, min(e, ce) - max(s, cs)) for s, e in ops)
            chunk_rows.append((cs, ce, used / (ce - cs) * 100))
        want, run = [], []
        for c in [*chunk_rows, None]:
            if c is not None and c[2] < threshold:
                run.append(c)
                continue
            if run:
                w = sum((r[1] - r[0]) * r[2] for r in run) / sum(r[1] - r[0] for r in run)
                want.append((run[0][0], run[-1][1] - run[0][0], round(w, 1)))
                run = []
        assert nsys_time_util(g, dev, pid, chunks, threshold) == want


@pytest.mark.parametrize("name", EXPORTS)
def test_kernel_summary_matches_sql(corpus, name):
    path = corpus / name
    g, _ = nsys.read(path)
    got = kernel_summary(g)
    want = rows(path, "SELECT s.value, sum(k.end - k.start), count(*), min(k.end - k.start), "
                      "max(k.end - k.start), avg(k.end - k.start) FROM "
                      "CUPTI_ACTIVITY_KIND_KERNEL k JOIN StringIds s ON s.id = k.demangledName "
                      "GROUP BY 1")
    assert set(got) == {r[0] for r in want}
    for name_, total, n, lo, hi, avg in want:
        durs = [r[0] for r in rows(path, "SELECT k.end - k.start FROM CUPTI_ACTIVITY_KIND_KERNEL"
                                         " k JOIN StringIds s ON s.id = k.demangledName WHERE "
                                         "s.value = ?", name_)]
        k = got[name_]
        assert (k["total"], k["instances"], k["min"], k["max"]) == (total, n, lo, hi)
        assert k["avg"] == pytest.approx(avg)
        assert k["med"] == statistics.median(durs)


def test_gpu_time_projected_on_nvtx_ranges_matches_sql(corpus):
    """For the busiest ranges of the 2-GPU slice: the GPU time of the operations whose
    launching call ran on the range's thread while the range was open."""
    path = corpus / EXPORTS[2]
    g, _ = nsys.read(path)
    got = nvtx_gpu_time(g, links(g), top=6)
    assert got
    ops = ops_sql(path).replace("SELECT start, end,", "SELECT start, end, correlationId,")
    for r in got:
        want = rows(path, f"""
            WITH ops AS ({ops})
            SELECT coalesce(sum(o.end - o.start), 0), count(o.start), count(DISTINCT n.rowid)
            FROM NVTX_EVENTS n
            LEFT JOIN CUPTI_ACTIVITY_KIND_RUNTIME c ON c.globalTid = n.globalTid
                 AND c.start >= n.start AND c.start <= n.end
            LEFT JOIN ops o ON o.correlationId = c.correlationId
                 AND o.pid = (c.globalTid >> 24) & 16777215
            WHERE n.text = ?""", r.name)[0]
        assert (r.gpu_ns, r.ops, r.instances) == tuple(want)
