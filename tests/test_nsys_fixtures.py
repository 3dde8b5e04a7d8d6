"""pipesight against Nsight Systems on the same exports, and the verdict each GPU workload must
get. The fixtures are captured on a GPU machine by bench/gpu/capture_nsys_fixtures.sh and
committed under tests/fixtures/nsys/ (see its README.md). Where nsys analyze found nothing (a
busy GPU has no gap of 1 ms) pipesight must find nothing too. nsys's reports were run with
pinned millisecond thresholds (gap=1 and 3 ms; 50 chunks under 50%, 100 chunks under 80%,
1 chunk under 101%), so agreement means something."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import nsys_reports as rep
from pipesight.errors import UserError
from pipesight.metrics.gpu import device_use, kernel_summary, nsys_gaps, nsys_time_util
from pipesight.readers import load, nsys
from pipesight.workflows.answer import analyze_path

FIX = Path(__file__).parent / "fixtures" / "nsys"
CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus" / "nsys"
SCENARIOS = ["post-starve", "gpu-busy", "producer-starve", "sync-copies", "post-overlap",
             "post-starve-renamed"]
# report folder -> (gap ms, (chunks, threshold) for the time utilization rows)
RUNS = {"gaps1_util50x50": (1, (50, 50)), "gaps3_util100x80": (3, (100, 80)),
        "util1x101": (None, (1, 101))}


def _exports() -> list[tuple[str, Path, Path]]:
    """(name, sqlite, reports folder) of every fixture that has both."""
    out = []
    for s in SCENARIOS:
        if (FIX / f"{s}.sqlite").exists():
            out.append((s, FIX / f"{s}.sqlite", FIX / "reports" / s))
    for d in sorted((FIX / "reports" / "corpus").glob("*")) if FIX.exists() else []:
        if (CORPUS / f"{d.name}.sqlite").exists():
            out.append((f"corpus/{d.name}", CORPUS / f"{d.name}.sqlite", d))
    return out


EXPORTS = _exports()
needs = pytest.mark.skipif(not EXPORTS, reason="no nsys fixtures yet in tests/fixtures/nsys "
                           "(bench/gpu/capture_nsys_fixtures.sh makes them on a GPU machine)")


def _ids(x):
    return x[0] if isinstance(x, tuple) else None


@needs
@pytest.mark.parametrize("fx", EXPORTS, ids=_ids)
@pytest.mark.parametrize("run", sorted(RUNS))
def test_gaps_and_utilization_match_nsys_analyze(fx, run):
    _, db, reports = fx
    gap_ms, (chunks, threshold) = RUNS[run]
    g, _ = nsys.read(db)
    folder = reports / run
    if gap_ms is not None:
        want = rep.gaps(folder)
        if want is None and gap_ms == 1:  # the console copy, where file naming differed
            console = reports / "gaps1.console.csv"
            want = rep.gaps_in(console) if console.exists() else None
        if want is None:
            pytest.skip(f"no gpu_gaps table under {folder}")
        got = sorted((pid, dev, s, d) for pid, dev in {(p, d) for p, d, _, _ in want} |
                     _contexts(g) for s, d in nsys_gaps(g, dev, pid, gap_ms))
        assert got == want
    want_u = rep.time_util(folder)
    if want_u is None:
        pytest.skip(f"no gpu_time_util table under {folder}")
    for pid, dev in _contexts(g):
        mine = nsys_time_util(g, dev, pid, chunks, threshold)
        theirs = [(s, d, u) for p, dv, s, d, u in want_u if (p, dv) == (pid, dev)]
        assert [(s, d) for s, d, _ in mine] == [(s, d) for s, d, _ in theirs]
        for (_, _, a), (_, _, b) in zip(mine, theirs, strict=True):
            assert a == pytest.approx(b, abs=0.11)  # both rounded to 0.1


def _contexts(g) -> set[tuple[int, int]]:
    from pipesight.trace.gpu import KERNEL, MEMCPY, MEMSET

    sel = (g.ops.kind == KERNEL) | (g.ops.kind == MEMCPY) | (g.ops.kind == MEMSET)
    return {(int(p), int(d)) for p, d in zip(g.ops.pid[sel], g.ops.device[sel], strict=True)}


@needs
@pytest.mark.parametrize("fx", EXPORTS, ids=_ids)
def test_device_busy_and_gaps_agree_with_nsys(fx):
    """pipesight's own per-device numbers: its 1 ms gaps are nsys's (which keeps gaps strictly
    over the threshold), and its busy share is at most nsys's summed in-use share (which
    counts concurrent operations twice)."""
    _, db, reports = fx
    g, _ = nsys.read(db)
    gaps = rep.gaps(reports / "gaps1_util50x50")
    whole = rep.time_util(reports / "util1x101")
    if gaps is None or whole is None:
        pytest.skip("reports missing")
    for dev in g.devices:
        u = device_use(g, dev)
        theirs = [d for _, dv, _, d in gaps if dv == dev]
        assert u.gap_count == len(theirs) + sum(1 for x in (u.gap_end - u.gap_start).tolist()
                                                if x == 1_000_000)
        assert u.gap_ns == sum(theirs) + 1_000_000 * (u.gap_count - len(theirs))
        if len({p for p, dv, *_ in whole if dv == dev}) == 1:
            inuse = next(x for _, dv, _, _, x in whole if dv == dev)
            assert 100 * u.busy_fraction <= inuse + 0.11


@needs
@pytest.mark.parametrize("fx", EXPORTS, ids=_ids)
def test_kernel_totals_match_nsys_stats(fx):
    _, db, reports = fx
    want = rep.kern_sum(reports / "stats")
    if want is None:
        pytest.skip("no cuda_gpu_kern_sum table")
    g, _ = nsys.read(db)
    got = kernel_summary(g)
    assert set(got) == set(want)
    for name, w in want.items():
        k = got[name]
        assert (k["total"], k["instances"], k["min"], k["max"]) == (
            w["total"], w["instances"], w["min"], w["max"]), name
        assert k["avg"] == pytest.approx(w["avg"], abs=1)
        assert k["med"] == pytest.approx(w["med"], abs=1)


# -- the verdict each workload must get ---------------------------------------------------------

EXPECT = {
    # scenario: (kind, cause thread's name or None, finding codes that must be there, must not)
    "post-starve": ("gpu-starved", "post", {"serial-postprocess"}, set()),
    "post-starve-renamed": ("gpu-starved", "worker-b", {"serial-postprocess"}, set()),
    "producer-starve": ("gpu-starved", "decoder", set(), {"serial-postprocess"}),
    "sync-copies": ("gpu-starved", "main-loop", {"gpu-pageable-copy"}, {"serial-postprocess"}),
    "post-overlap": ("gpu", None, set(), {"serial-postprocess", "gpu-starved"}),
    "gpu-busy": ("gpu", None, set(), {"serial-postprocess", "gpu-starved"}),
}


def _fixture(s: str) -> Path:
    p = FIX / f"{s}.sqlite"
    if not p.exists():
        pytest.skip(f"fixture {p.name} not captured yet")
    return p


@pytest.mark.parametrize("scenario", sorted(EXPECT))
def test_workload_gets_its_verdict(scenario):
    kind, thread, must, must_not = EXPECT[scenario]
    _, _, v, _ = analyze_path(_fixture(scenario))
    codes = {f.code for f in v.findings}
    assert v.bottleneck.kind == kind, v.bottleneck.summary
    if thread is not None:
        assert (v.bottleneck.thread or "").startswith(f"{thread} ("), v.bottleneck.summary
    assert must <= codes, codes
    assert not (must_not & codes), codes
    if scenario == "sync-copies":
        assert "waits for the GPU" in v.bottleneck.summary
    if scenario == "gpu-busy":
        lines = (FIX / f"{scenario}.workload.json").read_text().strip().splitlines()
        if json.loads(lines[-1]).get("cuda_graph"):  # replayed from a graph, traced per node
            assert v.gpus[0]["graph_ops"] > 0


@pytest.mark.parametrize("scenario", ["post-starve", "producer-starve", "sync-copies"])
def test_gpu_cycle_rate_matches_the_workloads_batch_rate(scenario):
    """The batches per second the workload counted, against the GPU cycles pipesight counts
    from the regular gaps."""
    _, _, v, _ = analyze_path(_fixture(scenario))
    lines = (FIX / f"{scenario}.workload.json").read_text().strip().splitlines()
    rate = json.loads(lines[-1])["batches_per_s"]
    ev = {e.metric: e.value for f in v.findings if f.code == "gpu-starved" for e in f.evidence}
    assert ev["gpu_cycles_per_s"] == pytest.approx(rate, rel=0.1)


def test_renamed_workload_gets_the_same_verdict():
    def sig(p):
        _, _, v, _ = analyze_path(p)
        return v.bottleneck.kind, v.bottleneck.confidence, sorted({f.code for f in v.findings})

    assert sig(_fixture("post-starve")) == sig(_fixture("post-starve-renamed"))


def test_nsys_rep_fixture_is_recognised_and_needs_nsys(monkeypatch, tmp_path):
    reps = sorted(FIX.glob("*.nsys-rep")) if FIX.exists() else []
    if not reps:
        pytest.skip("no .nsys-rep fixture")
    # alone: beside its own .sqlite export the report would be read through that
    rep = tmp_path / "alone" / reps[0].name
    rep.parent.mkdir()
    rep.write_bytes(reps[0].read_bytes())
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("NSYS", raising=False)
    with pytest.raises(UserError, match="reading it needs nsys"):
        load(rep)
    # and beside its export it is read without nsys
    trace, _ = load(reps[0])
    assert trace.gpu is not None


def test_report_parsers_read_nsys_csv_layouts(tmp_path):
    """The shapes nsys writes: a notice line, then a header with units, then rows."""
    d = tmp_path / "r"
    d.mkdir()
    (d / "out_gpu_gaps.csv").write_text(
        "Processing [x.sqlite] with [gpu_gaps.py]...\n"
        '"Row#","Duration (ns)","Start (ns)","PID","Device ID","Context ID"\n'
        '1,"2,000,000",5000,42,0,1\n2,1500000,9000000,42,0,1\n')
    (d / "out_gpu_time_util.csv").write_text(
        '"Row#","In-Use (%)","Duration (ns)","Start (ns)","PID","Device ID","Context ID"\n'
        "1,12.5,300,100,42,0,1\n")
    (d / "kern.csv").write_text(
        '"Time (%)","Total Time (ns)","Instances","Avg (ns)","Med (ns)","Min (ns)","Max (ns)",'
        '"StdDev (ns)","Name"\n'
        '60.0,600,2,300.0,300.0,200,400,141.4,"void k<int, 2>(float *)"\n')
    assert rep.gaps(d) == [(42, 0, 5000, 2_000_000), (42, 0, 9_000_000, 1_500_000)]
    assert rep.time_util(d) == [(42, 0, 100, 300, 12.5)]
    console = tmp_path / "gaps1.console.csv"
    console.write_text("Processing [x.sqlite] with [gpu_gaps.py]...\n\n"
                       "The following are ranges where a GPU is idle for more than 1ms.\n"
                       '"Row#","Duration (ms)","Start (ns)","PID","Device ID","Context ID"\n'
                       "1,2.5,5000,42,0,1\n\n")
    assert rep.gaps_in(console) == [(42, 0, 5000, 2_500_000)]
    assert rep.kern_sum(d) == {"void k<int, 2>(float *)": {
        "total": 600, "instances": 2, "avg": 300, "med": 300, "min": 200, "max": 400}}
