"""Property-based tests of every reader's parse functions (hypothesis): whatever the input, a
reader returns what its callers rely on (types, ranges, finite numbers) or raises UserError,
never anything else. Short enough for CI; bench/fuzz_campaign.py is the long campaign."""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import sqlite3
import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipesight.errors import UserError
from pipesight.readers import (
    ceiling,
    deepstream_config,
    dot,
    ds_latency,
    ds_perf,
    gst_debug_log,
    gst_structure,
    gst_tracer_log,
    hw_samples,
    manifest,
    pipesight_trace,
    proc_samples,
    py_callbacks,
    tegrastats,
    trtexec_log,
    watch_intervals,
)
from pipesight.readers.checks import MAX_I64
from pipesight.trace import Trace

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CI = settings(max_examples=60, deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
FEW = settings(max_examples=15, deadline=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# numbers a writer never makes, beside ordinary ones
WILD_INTS = st.one_of(st.integers(-5, 300), st.integers(min_value=-(2 ** 70), max_value=2 ** 70),
                      st.sampled_from([2 ** 32 - 1, 2 ** 63 - 1, 2 ** 64 - 1, 2 ** 64, 10 ** 26]))
WILD_NUMBER_TEXT = st.one_of(WILD_INTS.map(str), st.sampled_from(
    ["nan", "inf", "-inf", "NaN", "Infinity", "1e308", "1e400", "9" * 400, "-0", "", "0x1f"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr))
JSON = st.recursive(
    st.none() | st.booleans() | WILD_INTS | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c, max_size=4),
    max_leaves=8)
LINES = st.lists(st.text(max_size=120), max_size=30)


# every example's files in one folder, removed when the test session ends
_TMP = tempfile.TemporaryDirectory(prefix="pipesight-prop-")
_count = itertools.count()


def _dir() -> Path:
    d = Path(_TMP.name) / str(next(_count))
    d.mkdir()
    return d


def _file(data: bytes | str, name: str = "input") -> Path:
    d = _dir()
    p = d / name
    p.write_bytes(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    return p


def _finite_or_nan(a: np.ndarray) -> bool:
    return not np.isinf(np.asarray(a, np.float64)).any()


# ---------------------------------------------------------------- GStreamer tracer logs

@CI
@given(st.text(max_size=300))
def test_parse_structure_never_raises(text):
    name, fields = gst_structure.parse_structure(text)
    assert isinstance(name, str) and isinstance(fields, dict)


def _buffer_line(vals: list[str]) -> str:
    keys = ["thread-id", "ts", "pad-ix", "element-ix", "peer-pad-ix", "peer-element-ix",
            "buffer-size", "buffer-pts", "buffer-duration", "buffer-flags"]
    types = ["guint64", "guint64", "uint", "uint", "uint", "uint", "uint", "guint64", "guint64",
             "GstBufferFlags"]
    f = dict(zip(keys, vals, strict=True))
    return ("0:00:00.033854880 31225 0x563d28ca8400 TRACE             GST_TRACER :0:: buffer, "
            + ", ".join(f"{k}=({t}){f[k]}" for k, t in zip(keys[:7], types[:7], strict=True))
            + ", have-buffer-pts=(boolean)1, " + f"buffer-pts=(guint64){f['buffer-pts']}, "
            "have-buffer-dts=(boolean)0, buffer-dts=(guint64)18446744073709551615, "
            f"have-buffer-duration=(boolean)1, buffer-duration=(guint64){f['buffer-duration']}, "
            f"buffer-flags=(GstBufferFlags){f['buffer-flags']};")


@CI
@given(st.lists(st.lists(WILD_NUMBER_TEXT, min_size=10, max_size=10), min_size=1, max_size=8),
       st.booleans())
def test_tracer_log_values_in_range_or_skipped(rows, newline):
    text = "\n".join(_buffer_line(r) for r in rows) + ("\n" if newline else "")
    t = Trace()
    gst_tracer_log.load_into(t, _file(text, "t.log"))
    fl = t.flow
    assert (fl.ts >= 0).all() and (fl.size >= 0).all()
    assert (fl.pad >= -1).all() and (fl.pad <= gst_tracer_log.MAX_ID).all()
    assert ("truncated" in t.extras) == (not newline)


@CI
@given(st.binary(max_size=2000))
def test_tracer_log_chunk_of_any_bytes(data):
    ch = gst_tracer_log._parse_chunk(b"GST_TRACER :0:: buffer, " + data)
    assert ch.buffers.shape[1] == gst_tracer_log._BUFFER_COLS


# ---------------------------------------------------------------- pipesight's tracer

def _events(records: list[tuple], header: tuple | None = None) -> bytes:
    head = header or (pipesight_trace.MAGIC, 3, 64, 64, 64 * len(records), 1 << 30, 42, 0)
    out = struct.pack("<IIIIQQII", *head).ljust(64, b"\0")
    for i, r in enumerate(records):
        kind, tid, ts, pad, peer, count = r
        out += struct.pack("<BBHIQQIIIiQIIQ", kind, 0, 0, tid, ts, 2 ** 64 - 1, pad, peer, 100,
                           count, 2 ** 64 - 1, 0, 0, i + 1)
    return out


RECORDS = st.lists(st.tuples(st.integers(0, 12), st.sampled_from([7, 8, 2 ** 32 - 1]),
                             st.integers(0, 2 ** 64 - 1), st.integers(0, 2 ** 32 - 1),
                             st.integers(0, 2 ** 32 - 1), st.integers(-(2 ** 31), 2 ** 31 - 1)),
                   max_size=40)


@CI
@given(RECORDS)
def test_events_records_in_range_or_skipped(records):
    p = _file(_events(records), "events-42.bin")
    recs, info, _notes = pipesight_trace.read_events(p)
    assert (recs["kind"] >= 1).all() and (recs["kind"] <= 8).all()
    assert (recs["pad"] <= pipesight_trace.MAX_LOCAL_ID).all()
    assert (recs["ts"] <= MAX_I64).all()
    assert info["records"] == recs.shape[0] <= len(records)


@CI
@given(st.binary(max_size=300))
def test_events_file_of_any_bytes(data):
    with contextlib.suppress(UserError):
        pipesight_trace.read_events(_file(data, "events-1.bin"))


DEF_TYPES = ["element", "parent", "pad", "link", "props", "caps", "thread", "clock", "tracer",
             "clockmark", "state", "message", "eos"]
DEF_KEYS = ["id", "name", "type", "factory", "parent", "is_bin", "is_sink", "ptr", "element",
            "dir", "parent_pad", "ghost", "src", "sink", "props", "pad", "caps", "tid",
            "monotonic_ns", "realtime_ns", "ts", "call_ns", "format"]
DEF = st.builds(lambda t, kv: {"t": t, **kv}, st.sampled_from(DEF_TYPES),
                st.dictionaries(st.sampled_from(DEF_KEYS), JSON | st.integers(0, 50),
                                max_size=6))


@CI
@given(st.lists(DEF, max_size=25), RECORDS)
def test_tracer_run_of_any_definitions(defs, records):
    d = _dir()
    (d / "defs-42.jsonl").write_text("\n".join(json.dumps(x) for x in defs) + "\n")
    (d / "events-42.bin").write_bytes(_events(records))
    t = Trace()
    pipesight_trace.load_into(t, d)
    for e in t.topology.elements.values():
        assert isinstance(e.id, int) and 0 <= e.id < 2 ** 31
    if t.frames is not None:
        assert (t.frames.end >= 0).all()


# ---------------------------------------------------------------- run directories

@CI
@given(JSON)
def test_manifest_keeps_only_values_of_the_right_type(value):
    m, _ = manifest.validate(value)
    assert isinstance(m, dict)
    for k, check in manifest.KEYS.items():
        if k in m:
            assert check(m[k]), k
    json.dumps(m, allow_nan=False)  # nothing non-finite goes on into a verdict


@CI
@given(st.lists(st.builds(lambda t, kv: {"t": t, **kv}, st.sampled_from(["s", "sys", "thread",
                                                                          "header", "x"]),
                          st.dictionaries(st.sampled_from(["ts", "tid", "cpu", "wait", "busy",
                                                           "total", "name", "ncpu",
                                                           "interval_s", "machine_cpus",
                                                           "start_ticks", "clk_tck",
                                                           "boottime_minus_monotonic_ns"]),
                                          JSON, max_size=6)) | JSON, max_size=20))
def test_proc_samples_of_any_json_lines(lines):
    p = _file("\n".join(json.dumps(x) for x in lines) + "\n", "proc.jsonl")
    cpu, _ = proc_samples.read(p, 0)
    if cpu is not None:
        assert cpu.ts.dtype == np.int64 and cpu.interval_s > 0 and cpu.ncpu >= 0


BOTTLENECK = st.dictionaries(st.sampled_from(["kind", "element", "confidence"]),
                             JSON | st.sampled_from(["element", "slow_a", "confirmed"]),
                             max_size=3) | JSON


@CI
@given(st.lists(st.dictionaries(
    st.sampled_from(["interval", "end_unix", "seconds", "throughput_fps", "throughput_unit",
                     "bottleneck", "complete", "ended"]),
    JSON | BOTTLENECK | st.integers(1, 50) | st.floats(0, 2e9), max_size=8) | JSON,
    max_size=20))
def test_watch_intervals_of_any_json_lines(lines):
    from pipesight.render.watch_view import watch_view

    d = _dir()
    (d / "intervals.jsonl").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    ivs, _ = watch_intervals.read(d)
    assert [i.index for i in ivs] == sorted({i.index for i in ivs})
    for i in ivs:
        assert math.isfinite(i.end_unix) and i.seconds >= 0 and math.isfinite(i.seconds)
        assert i.fps is None or (math.isfinite(i.fps) and i.fps >= 0)
    view = watch_view(ivs)  # what report.html draws of them
    assert (view is None) == (not ivs)
    if view is not None and not view.more:
        assert sum(r["intervals"] for r in view.rows) == len(ivs)  # each in one period


@CI
@given(st.lists(st.builds(lambda t, kv: {"t": t, **kv}, st.sampled_from(["s", "p", "header"]),
                          st.dictionaries(st.sampled_from(["ts", "gpu", "pid", "gpu_util", "sm",
                                                           "gpus", "sm_mhz", "power_mw"]),
                                          JSON, max_size=6)), max_size=20))
def test_nvml_samples_of_any_json_lines(lines):
    p = _file("\n".join(json.dumps(x) for x in lines) + "\n", "nvml.jsonl")
    s = hw_samples.read_nvml(p, None)
    for x in s.series:
        assert _finite_or_nan(x.v) and _finite_or_nan(x.t)


@FEW
@given(st.binary(max_size=200), st.lists(JSON, max_size=5))
def test_python_callbacks_of_any_bytes(data, names):
    d = _dir()
    (d / "pycb-42.bin").write_bytes(data)
    (d / "pycb-42.jsonl").write_text("\n".join(json.dumps(x) for x in names))
    t = Trace()
    t.monotonic_offset_ns = 0
    py_callbacks.load_into(t, d)
    if t.callbacks is not None:
        assert (t.callbacks.end >= t.callbacks.start).all()


# ---------------------------------------------------------------- text logs

TEGRA_FIELD = st.sampled_from(["RAM", "SWAP", "CPU", "GR3D_FREQ", "EMC_FREQ", "NVDEC", "VDD_IN",
                               "cpu@", "GPU@", "lfb", "MTS fg"])


@CI
@given(st.lists(st.tuples(TEGRA_FIELD, WILD_NUMBER_TEXT, WILD_NUMBER_TEXT), max_size=12))
def test_tegrastats_line_values_finite(fields):
    line = "RAM 2274/6834MB CPU [99%@1189,off] " + " ".join(
        f"{k} {a}/{b}MB" if k in ("RAM", "SWAP") else f"{k} [{a}%@{b}]" if k == "CPU"
        else f"{k}{a}C" if k.endswith("@") else f"{k} {a}%@{b}" for k, a, b in fields)
    ln = tegrastats.parse_line(line)
    assert ln is not None
    assert all(not math.isinf(v) for v, _ in ln.values.values())


@CI
@given(LINES)
def test_tegrastats_lines_of_any_text(lines):
    try:
        s = tegrastats.read_lines(lines, "t")
    except UserError:
        return
    for x in s.series:
        assert _finite_or_nan(x.v)


PERF_LINE = st.one_of(
    st.builds(lambda a, b: f"**PERF:  {a} ({b})\t{b} ({a})", WILD_NUMBER_TEXT, WILD_NUMBER_TEXT),
    st.builds(lambda a: f"**PERF:  {{'stream0': {a}}}", WILD_NUMBER_TEXT),
    st.builds(lambda a: f"Fps of stream 0 is  {a}", WILD_NUMBER_TEXT),
    st.just("**PERF:  FPS 0 (Avg)\tFPS 1 (Avg)"), st.text(max_size=60))


@CI
@given(st.lists(PERF_LINE, max_size=25))
def test_deepstream_perf_values_finite(lines):
    s = ds_perf.to_samples(ds_perf.parse(lines), "perf")
    for x in s.series:
        assert _finite_or_nan(x.v) and _finite_or_nan(x.t)


LAT_LINE = st.one_of(
    st.builds(lambda n: f"************BATCH-NUM = {n}**************", WILD_NUMBER_TEXT),
    st.builds(lambda a, b, c: f"Comp name = dec0 in_system_timestamp = {a} "
              f"out_system_timestamp = {b} component latency= {c}",
              WILD_NUMBER_TEXT, WILD_NUMBER_TEXT, WILD_NUMBER_TEXT),
    st.builds(lambda a, b, c: f"Source id = {a} Frame_num = {b} Frame latency = {c} (ms)",
              WILD_NUMBER_TEXT, WILD_NUMBER_TEXT, WILD_NUMBER_TEXT), st.text(max_size=60))


@CI
@given(st.lists(LAT_LINE, max_size=25))
def test_deepstream_latency_values_finite(lines):
    log = ds_latency.parse(lines)
    if log.batches:
        s = ds_latency.to_samples(log, "lat")
        for x in s.series:
            assert _finite_or_nan(x.v) and _finite_or_nan(x.t)


@CI
@given(st.lists(st.one_of(st.builds(lambda k, v: f"{k}={v}", st.sampled_from(
    ["type", "batch-size", "enable", "network-mode", "interval", "gpu-id", "width"]),
    WILD_NUMBER_TEXT), st.sampled_from(["[application]", "[streammux]", "[primary-gie]",
                                        "[sink0]", "[property]"]), st.text(max_size=40)),
    max_size=30))
def test_deepstream_config_numbers_finite(lines):
    kf = deepstream_config.parse_keyfile("\n".join(lines), Path("app.txt"))
    for group in kf.groups.values():
        for e in group.values():
            x = e.number()
            assert x is None or (math.isfinite(x) and abs(x) <= deepstream_config.MAX_NUMBER)
            int(x or 0)  # what lint does with it


@CI
@given(st.text(max_size=400))
def test_debug_log_of_any_text(text):
    log = gst_debug_log.parse_text(text, "log")
    assert log.lines >= 0 and all(r.lineno >= 1 for r in log.records)


DOT_TOKEN = st.sampled_from(["digraph", "pipeline", "{", "}", "[", "]", ";", ",", "=", "->",
                             '"label"', "subgraph", "cluster_x_0x1", "label", '"GstQueue\\nq"',
                             "node", "x_0x55_src_0_0x56", '"a\\"b"', "/*c*/", "//c\n"])


@CI
@given(st.lists(DOT_TOKEN | st.text(max_size=10), max_size=60))
def test_dot_of_any_tokens(tokens):
    try:
        g = dot.parse("digraph pipeline {\n" + " ".join(tokens))
    except UserError:
        return
    assert g.topology is not None


# ---------------------------------------------------------------- a model's ceiling

@CI
@given(JSON)
def test_bench_model_ceiling_finite_or_refused(ceiling_value):
    p = _file(json.dumps({"ceiling": ceiling_value, "batch": ceiling_value,
                          "input_size": ceiling_value}), "bench.json")
    try:
        c = ceiling.read(str(p))
    except UserError:
        return
    assert math.isfinite(c.fps) and c.fps > 0


@CI
@given(WILD_NUMBER_TEXT)
def test_ceiling_number_finite_or_refused(text):
    if not text or (len(text) < 200 and Path(text).exists()):
        return
    try:
        c = ceiling.read(text)
    except UserError:
        return
    assert math.isfinite(c.fps) and c.fps > 0


NUMBERISH = st.from_regex(r"\A[0-9.eE+-]{1,12}\Z") | WILD_NUMBER_TEXT


@CI
@given(NUMBERISH, NUMBERISH, NUMBERISH)
def test_trtexec_numbers_parsed_or_skipped(qps, pct, value):
    """A damaged number in a trtexec summary ("Throughput:E3309.59 qps", found by the
    campaign) is no number: the line does not count, nothing raises but UserError."""
    text = (f"[I] Throughput: {qps} qps\n"
            f"[I] Latency: min = {value} ms, percentile({pct}%) = {value} ms\n"
            f"[I] Total Host Walltime: {value} s\n")
    try:
        run = trtexec_log.parse_text(text)
    except UserError:
        return
    assert isinstance(run.throughput_qps, float)
    for stats in run.latency_ms.values():
        assert all(isinstance(k, str) and isinstance(v, float) for k, v in stats.items())


# ---------------------------------------------------------------- Nsight Systems exports

SQL_VALUES = st.one_of(st.none(), st.integers(-(2 ** 63), 2 ** 63 - 1),
                       st.floats(allow_nan=False), st.text(max_size=5), st.binary(max_size=5))


@FEW
@given(st.lists(st.tuples(st.sampled_from(["drop", "delete", "update"]), st.integers(0, 200),
                          st.integers(0, 20), SQL_VALUES), min_size=1, max_size=4))
def test_nsys_export_damaged_tables(edits):
    from pipesight.readers import nsys
    from pipesight.workflows.answer import analyze_trace

    src = FIXTURES / "nsys" / "sync-copies.sqlite"
    db = _file(src.read_bytes(), "export.sqlite")
    con = sqlite3.connect(db)
    tables = [t for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for how, ti, ci, value in edits:
        t = tables[ti % len(tables)]
        cols = [c[1] for c in con.execute(f'PRAGMA table_info("{t}")')]
        try:
            if how == "drop":
                con.execute(f'DROP TABLE "{t}"')
            elif how == "delete":
                con.execute(f'DELETE FROM "{t}"')
            elif cols:
                con.execute(f'UPDATE "{t}" SET "{cols[ci % len(cols)]}" = ?', (value,))
        except sqlite3.Error:
            pass
        con.commit()
        tables = [x for (x,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        if not tables:
            break
    con.close()
    try:
        trace = nsys.load(db)
        analyze_trace(trace)
    except UserError:
        pass
    finally:
        os.unlink(db)
