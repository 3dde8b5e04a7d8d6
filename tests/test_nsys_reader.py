"""The Nsight Systems reader on real exports from 2022 to 2026: every number checked against
the export itself with SQL written here, not through the reader."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from pipesight.errors import UserError
from pipesight.readers import load, nsys
from pipesight.trace.gpu import KERNEL, MEMCPY, MEMSET, PUSH_POP

OLD = "nsys/nsys-2022.2_a100_saxpy-mpi-cuda.sqlite"
TINY = "nsys/nsys-2026.1_rtx3080_torch-zeros_full.sqlite"
TWO_GPU = "nsys/nsys-2026.2_h100x2_fastvideo_1s-window.sqlite"
ALL = [OLD, TINY, TWO_GPU]


def sql(path: Path, q: str) -> list[tuple]:
    con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return con.execute(q).fetchall()
    finally:
        con.close()


def one(path: Path, q: str):
    return sql(path, q)[0][0]


@pytest.mark.parametrize("name", ALL)
def test_every_corpus_export_loads_through_the_registry(corpus, name):
    path = corpus / name
    trace, kind = load(path)
    assert kind == "Nsight Systems SQLite export"
    g = trace.gpu
    assert g is not None
    assert str(path) in trace.inputs
    # every GPU operation table, row for row (all rows of these exports have valid times)
    for table, k in (("CUPTI_ACTIVITY_KIND_KERNEL", KERNEL), ("CUPTI_ACTIVITY_KIND_MEMCPY",
                     MEMCPY), ("CUPTI_ACTIVITY_KIND_MEMSET", MEMSET)):
        want = one(path, f"SELECT count(*) FROM {table}") if table in sql(path, (
            "SELECT group_concat(name, '|') FROM sqlite_master"))[0][0].split("|") else 0
        assert int(np.count_nonzero(g.ops.kind == k)) == want, table
    assert len(g.runtime) == one(path, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME")
    assert len(g.sync) == one(path, "SELECT count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION")
    # ops come sorted by start, with their kernel names resolved through StringIds
    assert np.all(np.diff(g.ops.start) >= 0)
    names = {r[0] for r in sql(path, "SELECT s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k "
                                     "JOIN StringIds s ON s.id = k.demangledName")}
    got = {g.string(int(n)) for n in g.ops.name[g.ops.kind == KERNEL]}
    assert got == names


def test_2022_schema_old_metadata_no_enums_and_text_ids(corpus):
    path = corpus / OLD
    g, notes = nsys.read(path)
    assert notes == []
    assert "EXPORT_META_DATA" in g.tables and "ENUM_NSYS_EVENT_TYPE" not in g.tables
    assert g.version == one(path, "SELECT value FROM EXPORT_META_DATA "
                                  "WHERE name = 'EXPORT_PRODUCT_VERSION'") == "2022.2.1.31"
    assert g.meta["EXPORT_SCHEMA_VERSION"] == "2.9.1"
    # push/pop ranges: 17 name their text by id, 5 inline; both kinds resolve
    assert len(g.nvtx) == one(path, "SELECT count(*) FROM NVTX_EVENTS WHERE eventType = 59")
    assert np.all(g.nvtx.kind == PUSH_POP)
    want = {}
    for (text,) in sql(path, "SELECT coalesce(n.text, s.value) FROM NVTX_EVENTS n LEFT JOIN "
                             "StringIds s ON s.id = n.textId WHERE n.eventType = 59"):
        want[text] = want.get(text, 0) + 1
    got: dict[str, int] = {}
    for n in g.nvtx.name.tolist():
        got[g.string(n)] = got.get(g.string(n), 0) + 1
    assert got == want == {"MPI_Init": 1, "MPI_Send": 10, "MPI_Recv": 5, "saxpy": 5,
                           "MPI_Finalize": 1}
    # the MPI ranges are in the domain that DomainCreate (75) named; saxpy in the default one
    assert g.domains == {1: "MPI"}
    mpi = np.array([g.string(n).startswith("MPI") for n in g.nvtx.name.tolist()])
    assert np.all(g.nvtx.domain[mpi] == 1) and np.all(g.nvtx.domain[~mpi] == -1)
    # globalTid unpacked: pid in bits 24..47, tid in bits 0..23
    gt = one(path, "SELECT globalTid FROM NVTX_EVENTS LIMIT 1")
    assert (int(g.nvtx.pid[0]), int(g.nvtx.tid[0])) == ((gt >> 24) & 0xFFFFFF, gt & 0xFFFFFF)
    assert int(g.nvtx.pid[0]) == 1230493
    # the thread named through nvtxNameOsThread (event type 39) keeps that name
    assert g.thread_names[(1230493, 1230493)] == "MPI Rank 0"
    assert len(g.thread_names) == one(path, "SELECT count(DISTINCT globalTid) FROM ThreadNames")
    assert g.device_names == {0: "NVIDIA A100-SXM4-40GB"}
    # copies keep their direction and memory kinds
    rows = sql(path, "SELECT copyKind, srcKind, dstKind, count(*) FROM "
                     "CUPTI_ACTIVITY_KIND_MEMCPY GROUP BY 1, 2, 3")
    cp = g.ops.kind == MEMCPY
    for ck, sk, dk, n in rows:
        sel = cp & (g.ops.copy_kind == ck) & (g.ops.src_kind == sk) & (g.ops.dst_kind == dk)
        assert int(sel.sum()) == n
    # OS runtime and video tables exist but are empty in this export
    assert len(g.osrt) == 0 and len(g.video) == 0


def test_2026_tiny_export_devices_threads_and_clock(corpus):
    path = corpus / TINY
    g, _ = nsys.read(path)
    assert "META_DATA_EXPORT" in g.tables and "NVTX_EVENTS" not in g.tables
    assert g.version == "2026.1.1.204"
    assert g.clock_origin_ns == one(path, "SELECT systemClockNs FROM "
                                          "TARGET_INFO_SESSION_START_TIME")
    assert g.devices == [0]
    assert g.device_names[0] == "NVIDIA GeForce RTX 3080"
    assert len(g.nvtx) == 0 and len(g.marks) == 0
    assert len(g.thread_names) == one(path, "SELECT count(DISTINCT globalTid) FROM ThreadNames")
    # the kernel's launch: correlation id and process join the runtime call's
    k = np.flatnonzero(g.ops.kind == KERNEL)[0]
    call = np.flatnonzero((g.runtime.correlation == g.ops.correlation[k])
                          & (g.runtime.pid == g.ops.pid[k]))
    assert call.shape[0] == 1
    want = one(path, "SELECT s.value FROM CUPTI_ACTIVITY_KIND_KERNEL k JOIN "
                     "CUPTI_ACTIVITY_KIND_RUNTIME r ON r.correlationId = k.correlationId JOIN "
                     "StringIds s ON s.id = r.nameId ORDER BY k.start LIMIT 1")
    assert g.string(int(g.runtime.name[call[0]])) == want
    # profiler overhead rows are kept, named
    assert len(g.overhead) == one(path, "SELECT count(*) FROM PROFILER_OVERHEAD")


def test_2026_two_gpus_streams_and_nvtx(corpus):
    path = corpus / TWO_GPU
    g, _ = nsys.read(path)
    assert g.devices == [0, 1]
    for dev, n in sql(path, "SELECT deviceId, count(*) FROM CUPTI_ACTIVITY_KIND_KERNEL "
                            "GROUP BY 1"):
        assert int(np.count_nonzero((g.ops.kind == KERNEL) & (g.ops.device == dev))) == n
    assert len(g.nvtx) == one(path, "SELECT count(*) FROM NVTX_EVENTS") == 16782
    # inline texts only: every range's name is its text
    texts = [r[0] for r in sql(path, "SELECT text FROM NVTX_EVENTS ORDER BY start, end DESC")]
    assert sorted(g.string(n) for n in g.nvtx.name.tolist()) == sorted(texts)
    assert set(zip(g.nvtx.pid.tolist(), g.nvtx.tid.tolist(), strict=True)) == {
        ((t >> 24) & 0xFFFFFF, t & 0xFFFFFF)
        for (t,) in sql(path, "SELECT DISTINCT globalTid FROM NVTX_EVENTS")}
    # synchronization types as CUPTI recorded them
    for st, n in sql(path, "SELECT syncType, count(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION "
                           "GROUP BY 1"):
        assert int(np.count_nonzero(g.sync.sync_type == st)) == n
    # no TARGET_INFO_GPU in this slice: devices have no names, and that is no error
    assert g.device_names == {}


def test_a_sqlite_file_that_is_not_an_nsys_export_is_refused(tmp_path):
    db = tmp_path / "other.sqlite"
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (a INTEGER)")
    con.commit()
    con.close()
    with pytest.raises(UserError, match="binary file pipesight does not read"):
        load(db)


def test_a_damaged_export_is_one_clear_error(corpus, tmp_path):
    bad = tmp_path / "cut.sqlite"
    data = (corpus / OLD).read_bytes()
    bad.write_bytes(data[: len(data) // 3])  # header and schema intact, tables cut off
    with pytest.raises(UserError, match=r"cut\.sqlite: a damaged"):
        load(bad)


def test_nsys_rep_without_nsys_says_how_to_get_the_sqlite(tmp_path, monkeypatch):
    rep = tmp_path / "run.nsys-rep"
    rep.write_bytes(b"\x00\x01binary report")
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("NSYS", raising=False)
    with pytest.raises(UserError, match=r"nsys export --type sqlite run\.nsys-rep"):
        load(rep)


def test_cli_analyze_on_an_export_prints_gpus_and_exits_0(corpus):
    import json

    r = subprocess.run([sys.executable, "-m", "pipesight", "analyze", "--json",
                        str(corpus / OLD)], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    v = json.loads(r.stdout)
    assert [d["device"] for d in v["gpus"]] == [0]
    assert v["gpus"][0]["name"] == "NVIDIA A100-SXM4-40GB"


def test_cli_on_a_bad_rep_is_one_line(tmp_path):
    rep = tmp_path / "x.nsys-rep"
    rep.write_bytes(b"\x00garbage")
    env = {"PATH": str(tmp_path), "NSYS": str(tmp_path / "no-such-nsys")}
    r = subprocess.run([sys.executable, "-m", "pipesight", "analyze", str(rep)],
                       capture_output=True, text=True, timeout=120, env=env)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr


def test_run_directory_loads_its_nsys_export(corpus, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text("{}")
    shutil.copy(corpus / OLD, run / "nsys.sqlite")
    trace, kind = load(run)
    assert kind == "run directory"
    assert trace.gpu is not None and len(trace.gpu.ops) == 20


def test_graph_node_ids_mark_graph_launched_kernels(corpus, tmp_path):
    """Kernels launched from a CUDA graph (traced per node) carry graphNodeId/graphId."""
    from pipesight.metrics.gpu import device_use

    p = tmp_path / "graph.sqlite"
    shutil.copy(corpus / TINY, p)
    p.chmod(0o644)
    con = sqlite3.connect(p)
    con.execute("UPDATE CUPTI_ACTIVITY_KIND_KERNEL SET graphNodeId = 7, graphId = 3 "
                "WHERE rowid = (SELECT min(rowid) FROM CUPTI_ACTIVITY_KIND_KERNEL)")
    con.commit()
    con.close()
    g, _ = nsys.read(p)
    k = g.ops.kind == KERNEL
    assert sorted(g.ops.graph_node[k].tolist()) == [-1, 7]
    assert sorted(g.ops.graph[k].tolist()) == [-1, 3]
    assert device_use(g, 0).graph_ops == 1


def test_big_tables_read_by_several_processes_give_the_same_rows(corpus, monkeypatch):
    """Tables over PARALLEL_ROWS are read in rowid ranges by worker processes; here the
    threshold is lowered so the 2-GPU slice's tables take that path."""
    path = corpus / TWO_GPU
    serial, _ = nsys.read(path)
    monkeypatch.setattr(nsys, "PARALLEL_ROWS", 500)
    monkeypatch.setattr(nsys, "MAX_WORKERS", 3)
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    parallel, _ = nsys.read(path)
    for table in ("ops", "runtime"):
        a, b = getattr(serial, table), getattr(parallel, table)
        for f in a.__dataclass_fields__:
            assert np.array_equal(getattr(a, f), getattr(b, f)), (table, f)
