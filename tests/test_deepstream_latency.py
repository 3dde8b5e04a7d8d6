"""NVDS_ENABLE_COMPONENT_LATENCY_MEASUREMENT output: the corpus log (Xavier, DS 6.0, decoder
renamed so that the frame latency printed is a wall-clock time) and the stock layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipesight.cli import main
from pipesight.readers import load
from pipesight.readers.deepstream import read_lines
from pipesight.workflows.answer import analyze_path

LAT = "deepstream/latency_component_forum253843_xavier_ds60.txt"

# deepstream-app's layout with the decoder's default name: both spellings, two sources
_PAD = " " * 15  # deepstream pads its component lines with spaces
STOCK = "\n".join([
    "",
    "************BATCH-NUM = 0**************",
    "Comp name = nvv4l2decoder0 in_system_timestamp = 1700000000000.000000 "
    f"out_system_timestamp = 1700000000004.000000{_PAD}component latency= 4.000000",
    "Comp name = nvv4l2decoder1 in_system_timestamp = 1700000000001.000000 "
    f"out_system_timestamp = 1700000000005.000000{_PAD}component latency= 4.000000",
    "Comp name = nvstreammux-src_bin_muxer source_id = 0 pad_index = 0 frame_num = 0"
    f"{_PAD}in_system_timestamp = 1700000000004.500000 out_system_timestamp = "
    f"1700000000006.000000{_PAD}component_latency = 1.500000",
    "Comp name = nvstreammux-src_bin_muxer source_id = 1 pad_index = 1 frame_num = 0"
    f"{_PAD}in_system_timestamp = 1700000000005.500000 out_system_timestamp = "
    f"1700000000006.000000{_PAD}component_latency = 0.500000",
    "Comp name = primary_gie in_system_timestamp = 1700000000006.100000 "
    f"out_system_timestamp = 1700000000016.100000{_PAD}component latency= 10.000000",
    "Source id = 0 Frame_num = 0 Frame latency = 16.200000 (ms) ",
    "Source id = 1 Frame_num = 0 Frame latency = 15.200000 (ms) ",
    "",
])


def test_corpus_components(corpus: Path) -> None:
    trace, kind = load(corpus / LAT)
    assert kind == "DeepStream PERF/latency output"
    s = trace.samples
    lat = {x.device: x.v[0] for x in s.find("component_latency")}
    # "component latency=" and "component_latency =" both read
    assert lat["tracker"] == pytest.approx(239.770996)
    assert lat["nvstreammux-stream-muxer"] == pytest.approx(116.61792)
    assert lat["nv-onscreendisplay"] == pytest.approx(21.49707)
    assert len(lat) == 9
    span = s.get("batch_span")
    assert span.v[0] == pytest.approx(1684240027012.312012 - 1684240026498.968018)
    wait = {x.device: x.v[0] for x in s.find("wait_before")}
    assert wait["nvdsanalytics"] == pytest.approx(26936.927979 - 26892.195068, abs=1e-3)


def test_epoch_sized_frame_latency_is_flagged_not_reported(corpus: Path) -> None:
    trace, _ = load(corpus / LAT)
    s = trace.samples
    assert s.find("frame_latency") == []  # 1684240027012.4 ms is no latency
    assert s.meta["deepstream-latency"]["frame_latency_invalid"] == 1
    _, _, v, _ = analyze_path(corpus / LAT)
    bad = next(f for f in v.findings if f.code == "ds-frame-latency-invalid")
    assert "nvv4l2-decoder" in bad.title and "nvv4l2decode" in bad.title
    assert bad.confidence == "confirmed"
    dom = next(f for f in v.findings if f.code == "ds-latency-dominant-component")
    ev = {e.metric: e.value for e in dom.evidence}
    assert dom.subject == "tracker"
    assert ev["component_span_mean_ms"] == pytest.approx(513.344, abs=1e-3)
    assert ev["share_of_frame_latency_pct"] == pytest.approx(46.7, abs=0.1)
    # no latency number of the report is epoch-sized
    for f in v.findings:
        for e in f.evidence:
            if e.unit == "ms" and e.metric != "invalid_value_ms":
                assert float(e.value) < 1e6


def test_stock_layout_two_sources() -> None:
    s = read_lines(STOCK.splitlines(), "stock.log")
    assert s is not None
    frames = {x.device: x.v.tolist() for x in s.find("frame_latency")}
    assert frames == {"source 0": [16.2], "source 1": [15.2]}
    mux = s.get("component_latency", device="nvstreammux-src_bin_muxer")
    assert mux.v.tolist() == [1.5, 0.5]
    assert s.meta["deepstream-latency"]["frame_latency_invalid"] == 0


def test_stock_layout_dominant_share_of_frame_latency(tmp_path: Path) -> None:
    p = tmp_path / "lat.log"
    p.write_text(STOCK)
    _, _, v, _ = analyze_path(p)
    dom = next(f for f in v.findings if f.code == "ds-latency-dominant-component")
    ev = {e.metric: e.value for e in dom.evidence}
    assert dom.subject == "primary_gie"
    assert ev["frame_latency_mean_ms"] == pytest.approx(15.7)
    assert not [f for f in v.findings if f.code == "ds-frame-latency-invalid"]


def test_json_output(corpus: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", str(corpus / LAT), "--json"]) == 0
    v = json.loads(capsys.readouterr().out)
    assert {"ds-frame-latency-invalid", "ds-latency-dominant-component"} <= {
        f["code"] for f in v["findings"]}


def test_cut_short_log_keeps_what_is_whole(corpus: Path, tmp_path: Path) -> None:
    text = (corpus / LAT).read_text()
    cut = text[:text.index("Comp name = tracker") + 60]  # ends inside the tracker's line
    p = tmp_path / "cut.log"
    p.write_text("\x1b[0;32m" + cut)
    trace, _ = load(p)
    lat = {x.device: x.v.tolist() for x in trace.samples.find("component_latency")}
    assert lat["nvstreammux-stream-muxer"] == [pytest.approx(116.61792)]
    assert "tracker" not in lat and "nv-onscreendisplay" not in lat
