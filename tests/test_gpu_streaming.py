"""The streamed GPU measurements (the export read in blocks, operations joined to their calls in
SQLite, interval unions settled as they go) against the way pipesight measured before, with
whole tables in memory (tests/gpu_reference.py): every number of every device, thread, copy,
stream and NVTX range must be the same, on every real export and simulated pipeline, however
the export is cut into blocks, whether blocks are read by worker threads, and whether busy
intervals go to disk."""

from __future__ import annotations

import dataclasses
import lzma
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import nsys_synth as synth
from gpu_reference import reference_view
from pipesight.metrics import gpu_scan, running
from pipesight.metrics.gpu_view import compute_gpu
from pipesight.readers import nsys, sqlite_bulk
from pipesight.workflows.answer import analyze_path

HERE = Path(__file__).parent
FIXTURES = [*sorted((HERE / "fixtures" / "nsys").glob("*.sqlite")),
            HERE / "fixtures" / "gpu" / "naive.sqlite"]
CORPUS = ["nsys-2022.2_a100_saxpy-mpi-cuda.sqlite", "nsys-2026.1_rtx3080_torch-zeros_full.sqlite",
          "nsys-2026.2_h100x2_fastvideo_1s-window.sqlite"]
SIMS = {
    "post-starve": lambda p: synth.pipeline(p, 0.3, (0.8, 0.7, 0.5)),
    "producer-starve": lambda p: synth.pipeline(p, 2.0, (0.12, 0.1, 0.08)),
    "sync-copies": lambda p: synth.sync_loop(p, 0.8),
}


@pytest.fixture(scope="module")
def exports(tmp_path_factory, corpus) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("exports")
    out = {p.name: p for p in FIXTURES}
    out.update({n: corpus / "nsys" / n for n in CORPUS})
    tuned = d / "tuned.sqlite"
    with lzma.open(HERE / "fixtures" / "gpu" / "tuned.sqlite.xz") as src, open(tuned, "wb") as f:
        shutil.copyfileobj(src, f)
    out["tuned.sqlite"] = tuned
    for name, make in SIMS.items():
        out[f"sim-{name}"] = make(d / f"{name}.sqlite")
    return out


def same(a, b, where: str = "") -> None:
    """Equal, field by field; arrays element by element; floats exactly."""
    if dataclasses.is_dataclass(a):
        assert type(a) is type(b), where
        for f in dataclasses.fields(a):
            same(getattr(a, f.name), getattr(b, f.name), f"{where}.{f.name}")
    elif isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        assert np.array_equal(np.asarray(a), np.asarray(b)), where
    elif isinstance(a, dict):
        assert list(a) == list(b), where  # the same keys in the same order
        for k in a:
            same(a[k], b[k], f"{where}[{k}]")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            same(x, y, f"{where}[{i}]")
    else:
        assert a == b and type(a) is type(b), f"{where}: {a!r} != {b!r}"


def streamed(path: Path):
    g, _ = nsys.read(path, whole=False)
    return compute_gpu(g), g


def check(path: Path) -> None:
    view, g = streamed(path)
    whole, _ = nsys.read(path)
    want = reference_view(whole)
    assert view is not None and view.devices, path.name
    for k in ("devices", "threads", "copies", "streams", "nvtx"):
        same(getattr(view, k), want[k], f"{path.name}:{k}")
    assert not g.loaded, "the streamed view loaded a whole table"


def test_every_export_measures_as_before(exports):
    for path in exports.values():
        check(path)


def _shuffled_copy(src: Path, dst: Path) -> None:
    """The export with its kernels and copies written in random order (nsys writes them in
    start order)."""
    shutil.copy(src, dst)
    dst.chmod(0o644)
    con = sqlite3.connect(dst)
    for t in ("CUPTI_ACTIVITY_KIND_KERNEL", "CUPTI_ACTIVITY_KIND_MEMCPY"):
        con.execute(f"CREATE TABLE x AS SELECT * FROM {t} ORDER BY random()")
        con.execute(f"DELETE FROM {t}")
        con.execute(f"INSERT INTO {t} SELECT * FROM x")
        con.execute("DROP TABLE x")
    con.commit()
    con.close()


def test_small_blocks_settling_and_disk_give_the_same_numbers(exports, monkeypatch,
                                                             tmp_path):
    """Blocks of a few dozen rows: unions settle hundreds of times and busy intervals go to a
    file; an export whose tables are out of start order is found out and streamed again with
    the exact earliest start of each block."""
    shuffled = tmp_path / "shuffled.sqlite"
    _shuffled_copy(exports["post-starve.sqlite"], shuffled)
    exports = {**exports, "shuffled": shuffled}
    monkeypatch.setattr(sqlite_bulk, "BLOCK", 37)
    monkeypatch.setattr(running, "SPILL_ROWS", 50)
    restarts = []
    real = gpu_scan._Scan.run

    def run(self, sess, exact, drop):
        restarts.append(exact)
        return real(self, sess, exact, drop)

    monkeypatch.setattr(gpu_scan._Scan, "run", run)
    for name in ("post-starve.sqlite", "nsys-2026.2_h100x2_fastvideo_1s-window.sqlite",
                 "sim-post-starve", "sim-sync-copies", "naive.sqlite", "shuffled"):
        restarts.clear()
        check(exports[name])
        # nsys writes its tables in start order, and the simulations nearly so; the 2-GPU slice
        # (cut from a longer run) has its CUDA calls out of order
        redo = name == "shuffled" or name.startswith("nsys-2026.2")
        assert restarts == ([False, True] if redo else [False]), name


def test_calls_dropped_too_early_are_noticed(exports, monkeypatch):
    """Calls are kept for joining four times as long behind the operations as the longest
    launch delay seen, and a second at least. Dropped as soon as the operations have passed
    them, calls are missed by operations launched earlier that run later (in the lab
    pipelines, whose kernels queue behind each other): noticed, and the pass made again
    keeping every call."""
    from pipesight.metrics import gpu_join

    monkeypatch.setattr(gpu_join, "KEEP_MIN_NS", 0)
    monkeypatch.setattr(gpu_join, "KEEP_LAG_TIMES", 0)
    monkeypatch.setattr(sqlite_bulk, "BLOCK", 53)
    runs = []
    real = gpu_scan._Scan.run

    def run(self, sess, exact, drop):
        runs.append(drop)
        return real(self, sess, exact, drop)

    monkeypatch.setattr(gpu_scan._Scan, "run", run)
    for name in ("naive.sqlite", "tuned.sqlite"):
        runs.clear()
        check(exports[name])
        assert runs == [True, False], name


def test_blocks_read_by_worker_threads_give_the_same_numbers(exports, monkeypatch):
    monkeypatch.setattr(nsys, "PARALLEL_ROWS", 100)
    monkeypatch.setattr(nsys, "MAX_WORKERS", 3)
    monkeypatch.setattr(sqlite_bulk, "BLOCK", 211)
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    for name in ("post-starve-gil.sqlite", "nsys-2026.2_h100x2_fastvideo_1s-window.sqlite"):
        g, _ = nsys.read(exports[name], whole=False)
        assert g.source.workers == 3
        check(exports[name])


def _counted_overhead_copy(src: Path, dst: Path) -> None:
    """nsys counts some profiler overhead as GPU time; the fixtures' overhead rows carry other
    names, so here they are renamed to the counted ones: a flush inside the run, the start-up
    before the first operation and the stop after the last."""
    shutil.copy(src, dst)
    dst.chmod(0o644)
    con = sqlite3.connect(dst)
    for old, new in (("CUPTI Buffer flush", "CUDA profiling data flush overhead"),
                     ("TLS allocation", "CUDA profiling overhead"),
                     ("CUDA profiling data flush on cudaProfilerStop",
                      "CUDA profiling stop overhead")):
        con.execute("UPDATE StringIds SET value = ? WHERE value = ?", (new, old))
    # and one more flush in the middle of the run
    con.execute("INSERT INTO PROFILER_OVERHEAD (start, end, globalTid, nameId, returnValue) "
                "SELECT (SELECT start + 2000000 FROM CUPTI_ACTIVITY_KIND_KERNEL LIMIT 1 OFFSET "
                "500), (SELECT start + 2400000 FROM CUPTI_ACTIVITY_KIND_KERNEL LIMIT 1 OFFSET "
                "500), globalTid, nameId, 0 FROM PROFILER_OVERHEAD o JOIN StringIds s ON "
                "s.id = o.nameId WHERE s.value = 'CUDA profiling data flush overhead' LIMIT 1")
    con.commit()
    con.close()


def test_counted_profiler_overhead_is_measured_as_before(exports, tmp_path, monkeypatch):
    p = tmp_path / "overhead.sqlite"
    _counted_overhead_copy(exports["producer-starve.sqlite"], p)
    plain, _ = nsys.read(exports["producer-starve.sqlite"])
    counted, _ = nsys.read(p)
    # the renamed overhead changes the busy time: the case is not empty
    assert reference_view(counted)["devices"][0].busy_ns > \
        reference_view(plain)["devices"][0].busy_ns
    check(p)
    monkeypatch.setattr(sqlite_bulk, "BLOCK", 41)
    check(p)


def test_analysis_keeps_the_big_tables_in_the_export(exports):
    trace, _, v, _ = analyze_path(exports["post-starve-gil.sqlite"])
    assert v.gpus and trace.gpu is not None
    assert trace.gpu.loaded == {}  # operations and calls were streamed, never loaded whole
    assert len(trace.gpu.ops) > 0 and "ops" in trace.gpu.loaded  # and load when asked for


def test_rows_without_valid_times_are_skipped_and_said(exports, tmp_path):
    p = tmp_path / "holes.sqlite"
    shutil.copy(exports["post-starve.sqlite"], p)
    p.chmod(0o644)
    con = sqlite3.connect(p)
    con.execute("UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET start = 0 WHERE rowid % 97 = 0")
    con.execute("UPDATE CUPTI_ACTIVITY_KIND_RUNTIME SET end = start - 1 WHERE rowid % 89 = 0")
    n_k = con.execute("SELECT count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL WHERE start = 0"
                      ).fetchone()[0]
    con.commit()
    con.close()
    check(p)
    _, notes = nsys.read(p)
    trace, _, _, _ = analyze_path(p)
    said = f"CUPTI_ACTIVITY_KIND_KERNEL: skipped {n_k} rows without valid times"
    assert any(said in n for n in notes)
    assert sum(said in n for n in trace.notes) == 1  # said once, though streamed twice


# -- bulk columns -----------------------------------------------------------------------------

def test_bulk_columns_match_row_by_row_reads(tmp_path):
    db = tmp_path / "t.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (a INTEGER, b INTEGER, c)")
    rng = np.random.default_rng(1)
    rows = [(int(x), None if i % 7 == 0 else int(y), int(z)) for i, (x, y, z) in
            enumerate(rng.integers(-(1 << 62), 1 << 62, (5000, 3)))]
    con.executemany("INSERT INTO t VALUES (?, ?, ?)", rows)
    con.commit()
    exprs = ["a", sqlite_bulk.integer("b"), "c"]
    got = sqlite_bulk.columns(con, exprs, "FROM t WHERE a > ?", (0,))
    want = [r for r in rows if r[0] > 0]
    assert [x.tolist() for x in got] == [[r[0] for r in want], [-1 if r[1] is None else r[1]
                                         for r in want], [r[2] for r in want]]
    # a value that is not an integer: that block is read row by row, with the same result
    con.execute("UPDATE t SET c = 2.5 WHERE rowid = 10")
    con.execute("UPDATE t SET c = 'x' WHERE rowid = 11")
    got = sqlite_bulk.columns(con, ["rowid", "c"], "FROM t WHERE rowid BETWEEN 9 AND 12")
    assert [x.tolist() for x in got] == [[9, 10, 11, 12], [rows[8][2], 2, -1, rows[11][2]]]
    # blocks, serial and by threads, cover the table in order
    opener = lambda: sqlite3.connect(db, check_same_thread=False)  # noqa: E731
    serial = list(sqlite_bulk.read_blocks(con, "t", ["rowid"], "FROM t WHERE "
                                          + sqlite_bulk.in_block(), size=300))
    threaded = list(sqlite_bulk.read_blocks(con, "t", ["rowid"], "FROM t WHERE "
                                            + sqlite_bulk.in_block(), opener, 3, 0, 300))
    assert len(serial) == len(threaded) == 17
    assert np.concatenate([p[0] for p in threaded]).tolist() == list(range(1, 5001))
    assert all(np.array_equal(a[0], b[0]) for a, b in zip(serial, threaded, strict=True))
    con.close()


# -- the streaming pieces against their whole-array counterparts -------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_merging_in_batches_is_the_union_of_everything(seed):
    """Intervals on a coarse grid (many touch end to start), handed over in start order in
    batches; after each batch what ends before the next batch's first start is settled."""
    from pipesight.metrics import intervals as iv

    rng = np.random.default_rng(seed)
    s = np.sort(rng.integers(0, 2000, 800)) * 5
    e = s + rng.integers(0, 8, 800) * 5  # zero-length and touching intervals included
    m = iv.Merging()
    got_s, got_e = [], []
    cuts = np.sort(rng.choice(np.arange(1, 800), 40, replace=False))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, 800], strict=True):
        m.add(s[a:b], e[a:b])
        front = s[b] if b < 800 else np.inf
        ss, se = m.settle(front)
        got_s.append(ss)
        got_e.append(se)
    want = iv.union(s, e)
    assert len(m) == 0
    assert np.array_equal(np.concatenate(got_s), want[0])
    assert np.array_equal(np.concatenate(got_e), want[1])


def test_counts_median_is_numpys():
    rng = np.random.default_rng(7)
    for n in (1, 2, 3, 10, 11, 1000):
        x = rng.integers(-50, 50, n)
        c = running.Counts()
        for part in np.array_split(x, 4):
            c.add(part)
        assert c.median() == float(np.median(x))
    assert running.Counts().median() is None


def test_nvtx_texts_read_in_bulk_match_row_by_row(exports, tmp_path):
    """Inline NVTX texts come joined by NUL per block; a text that holds a NUL (C strings
    cannot, but a file can) makes its block be read row by row."""
    p = tmp_path / "nul.sqlite"
    shutil.copy(exports["nsys-2026.2_h100x2_fastvideo_1s-window.sqlite"], p)
    p.chmod(0o644)
    con = sqlite3.connect(p)
    con.execute("UPDATE NVTX_EVENTS SET text = 'a' || char(0) || 'b' WHERE rowid = 5")
    con.execute("UPDATE NVTX_EVENTS SET text = NULL, textId = NULL WHERE rowid = 6")
    con.execute("UPDATE NVTX_EVENTS SET text = '' WHERE rowid = 7")
    want = {r[0]: r[1] for r in con.execute("SELECT rowid, text FROM NVTX_EVENTS")}
    con.commit()
    con.close()
    g, _ = nsys.read(p)
    assert len(g.nvtx) == len(want)  # every event of this export is a range
    got = Counter(g.string(n) if n >= 0 else None for n in g.nvtx.name.tolist())
    assert got == Counter(want.values())
    assert got["a\0b"] == 1 and got[""] == 1 and got[None] == 1


@pytest.mark.parametrize("seed", range(6))
def test_intersect_with_one_interval_and_subtract_nothing_as_in_general(seed):
    """The short cuts (cutting a set to a span, taking nothing away) against the general
    elementary-segment computation, on sets with touching and empty intervals."""
    from pipesight.metrics import intervals as iv

    rng = np.random.default_rng(100 + seed)
    s = rng.integers(0, 300, 40)
    a = iv.union(s, s + rng.integers(0, 15, 40))
    for lo, hi in [(0, 400), (-5, 0), (50, 50), tuple(sorted(rng.integers(0, 320, 2)))]:
        one = (np.array([lo]), np.array([hi]))
        want = iv._combine(a, one, lambda x, y: x & y)
        for got in (iv.intersect(a, one), iv.intersect(one, a)):
            assert [x.tolist() for x in got] == [x.tolist() for x in want], (lo, hi)
    want = iv._combine(a, iv.EMPTY, lambda x, y: x & ~y)
    assert [x.tolist() for x in iv.subtract(a, iv.EMPTY)] == [x.tolist() for x in want]


def test_overlap_of_ranges_that_start_before_the_session():
    """nsys times count from the session's start; a range opened before it (the Python GIL
    held at start-up, in post-starve-gil) starts below 0. What a set covers of it was counted
    from 0 instead of from its start."""
    from pipesight.metrics import intervals as iv

    st = iv.union(np.array([100, 300]), np.array([200, 400]))
    qs, qe = np.array([-500, -500, -50, 150]), np.array([-100, 150, 350, 1000])
    assert iv.overlap(st, qs, qe).tolist() == [0, 50, 150, 150]
    assert iv.overlap((st[0][:1], st[1][:1]), qs, qe).tolist() == [0, 50, 100, 50]
