"""DeepStream's **PERF prints: the corpus file (deepstream-app, one stream, a header between
runs), and the other layouts deepstream-app and the Python sample apps print."""

from __future__ import annotations

from pathlib import Path

from pipesight.readers import load
from pipesight.readers.deepstream import read_lines
from pipesight.readers.ds_perf import parse
from pipesight.workflows.answer import analyze_path

PERF = "deepstream/perf_deepstream-yolo_issue134_1080ti_yolov5m_int8_vs_fp32.txt"

# layouts of deepstream-app (DS 6.x: asctime line, "Active sources", two streams) and of the
# Python apps' PERF_DATA (dict of stream names)
C_APP_TWO_STREAMS = """Active sources : 2

**PERF:  FPS 0 (Avg)\tFPS 1 (Avg)\t
Mon May 15 12:00:00 2023
**PERF:  30.02 (29.87)\t29.98 (29.80)\t
Active sources : 2
Mon May 15 12:00:05 2023
**PERF:  30.00 (29.95)\t14.10 (22.30)\t
Active sources : 1
Mon May 15 12:00:10 2023
**PERF:  29.99 (29.97)\t13.90 (19.50)\t
Mon May 15 12:00:15 2023
**PERF:  30.01 (29.98)\t14.05 (18.20)\t
"""
PY_APP_STALL = """
**PERF:  {'stream0': 30.0, 'stream1': 29.98}

**PERF:  {'stream0': 30.01, 'stream1': 30.02}

**PERF:  {'stream0': 0.0, 'stream1': 29.9}

**PERF:  {'stream0': 0.0, 'stream1': 30.0}

**PERF:  {'stream0': 0.0, 'stream1': 30.1}
"""


def test_corpus_perf_file(corpus: Path) -> None:
    trace, kind = load(corpus / PERF)
    assert kind == "DeepStream PERF/latency output"
    s = trace.samples
    assert s is not None
    fps = s.get("fps", device="stream 0")
    avg = s.get("fps_avg", device="stream 0")
    # 9 value prints; the header "**PERF:  FPS 0 (Avg)" names stream 0 and is no rate of 0
    assert fps.v.tolist() == [96.33, 96.87, 98.27, 94.32, 96.24, 96.14, 93.04, 94.75, 95.31]
    assert avg.v.tolist()[:3] == [96.19, 96.60, 97.14]
    assert fps.clock == "index" and s.meta["deepstream-perf"]["headers"] == 1
    assert any("carry no time" in n for n in s.notes)


def test_corpus_perf_findings(corpus: Path) -> None:
    _, _, v, _ = analyze_path(corpus / PERF)
    codes = {f.code: f for f in v.findings}
    assert "pipeline-stalled" not in codes and "stream-fps-imbalance" not in codes
    f = codes["deepstream-fps"]
    total = {e.metric: e.value for e in f.evidence}["deepstream_fps_total"]
    # the mean of the prints after the first
    assert abs(total - sum([96.87, 98.27, 94.32, 96.24, 96.14, 93.04, 94.75, 95.31]) / 8) < 0.01
    assert v.bottleneck.kind == "unknown" and "DeepStream's own prints" in v.bottleneck.summary


def test_c_app_with_time_and_a_slow_stream(tmp_path: Path) -> None:
    p = tmp_path / "ds.log"
    p.write_text(C_APP_TWO_STREAMS)
    trace, _ = load(p)
    s = trace.samples
    s1 = s.get("fps", device="stream 1")
    assert s1.clock == "seconds" and s1.t.tolist() == [0, 5, 10, 15]
    assert s1.v.tolist() == [29.98, 14.10, 13.90, 14.05]
    _, _, v, _ = analyze_path(p)
    imb = next(f for f in v.findings if f.code == "stream-fps-imbalance")
    assert imb.subject == "stream 1" and "14.0 fps" in imb.title


def test_python_app_stall(tmp_path: Path) -> None:
    p = tmp_path / "py.log"
    p.write_text(PY_APP_STALL)
    _, _, v, _ = analyze_path(p)
    stall = [f for f in v.findings if f.code == "pipeline-stalled"]
    assert len(stall) == 1 and stall[0].subject == "stream 0"
    assert stall[0].severity == "critical" and "last 3 prints" in stall[0].title


def test_whole_pipeline_stall_and_recovery() -> None:
    lines = ["**PERF:  30.00 (30.00)\t30.00 (30.00)\t",
             "**PERF:  0.00 (25.00)\t0.00 (25.00)\t",
             "**PERF:  0.00 (20.00)\t0.00 (20.00)\t",
             "**PERF:  30.00 (22.00)\t30.00 (22.00)\t"]
    from pipesight.analyses import Context
    from pipesight.analyses.streams import analyze
    from pipesight.metrics import compute
    from pipesight.trace import Trace

    t = Trace(samples=read_lines(lines, "x"))
    found = [f for f in analyze(Context(t, compute(t))) if f.code == "pipeline-stalled"]
    assert len(found) == 1 and found[0].subject == "pipeline"
    assert found[0].severity == "warning" and "then resumed" in found[0].title


def test_other_layouts() -> None:
    log = parse([
        "PERF(1): 25.00 (24.50)\t",  # several app instances
        "**PERF:  ",  # nvmultiurisrcbin: the values on the next line
        "cam1[door] 15.00 (14.90)\tcam2[gate] 7.50 (7.40)\t",
        "Fps of stream 3 is  12.5",  # old Python apps
        "**PERF:  garbage",
    ])
    assert [p.fps for p in log.prints] == [{"instance 1": 25.0},
                                           {"stream cam1": 15.0, "stream cam2": 7.5},
                                           {"stream 3": 12.5}]
    assert log.malformed == 1
