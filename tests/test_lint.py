"""Each lint rule fires where its trap is and stays quiet where it is not: on DeepStream graphs
in GStreamer's DOT layout and on deepstream-app configurations (tests/fixtures/ds)."""

from __future__ import annotations

from pathlib import Path

import pytest

from doctor_helpers import El, codes, doctor_json, dot_text

DS = Path(__file__).parent / "fixtures" / "ds"
NVMM = "video/x-raw(memory:NVMM), format=NV12"


def graph(tmp_path, elements, links, *extra) -> dict:
    f = tmp_path / "pipeline.dot"
    f.write_text(dot_text(elements, links))
    return doctor_json(*extra, str(f))


def ds_pipeline(*, osd_mode="GPU_MODE", encoder="nvv4l2h264enc", enc_type="nvv4l2h264enc",
                conv="nvvideoconvert", conv_type="Gstnvvideoconvert", mux_props=None,
                src="filesrc", src_type="GstFileSrc", src_props=None, filt=NVMM,
                infer_props=None, sink="GstFakeSink", sink_props=None, queue_props=None,
                n_sources=1):
    els = [El(f"src{i}", src_type, dict(src_props or {"location": '"/data/a.mp4"'}), sinks=[])
           for i in range(n_sources)]
    els += [El(f"dec{i}", "nvv4l2decoder") for i in range(n_sources)]
    els += [
        El("mux", "GstNvStreamMux", dict(mux_props or {"batch-size": str(n_sources),
                                                        "batched-push-timeout": "33000"}),
           sinks=[f"sink_{i}" for i in range(n_sources)]),
        El("pgie", "GstNvInfer", dict(infer_props or {"batch-size": str(n_sources)})),
        El("q", "GstQueue", dict(queue_props or {})),
        El("conv", conv_type),
        El("filter", "GstCapsFilter", {"caps": filt}),
        El("osd", "GstNvDsOsd", {"process-mode": osd_mode}),
        El("enc", enc_type),
        El("sink", sink, dict({"sync": "FALSE"} if sink_props is None else sink_props),
           srcs=[]),
    ]
    links = [(f"src{i}", "src", f"dec{i}", "sink", "") for i in range(n_sources)]
    links += [(f"dec{i}", "src", "mux", f"sink_{i}", NVMM) for i in range(n_sources)]
    links += [("mux", "src", "pgie", "sink", NVMM), ("pgie", "src", "q", "sink", NVMM),
              ("q", "src", "conv", "sink", NVMM), ("conv", "src", "filter", "sink", ""),
              ("filter", "src", "osd", "sink", ""), ("osd", "src", "enc", "sink", ""),
              ("enc", "src", "sink", "sink", "")]
    return els, links


def test_clean_deepstream_graph_has_no_finding(tmp_path):
    v = graph(tmp_path, *ds_pipeline(), "--benchmark")
    assert [c for c in codes(v) if c != "tiler-osd-benchmark"] == []


@pytest.mark.parametrize("kwargs,code", [
    ({"osd_mode": "CPU_MODE"}, "osd-cpu-mode"),
    ({"enc_type": "GstX264Enc"}, "software-encoder"),
    ({"conv_type": "GstVideoConvert", "filt": "video/x-raw, format=RGBA"},
     "cpu-convert-between-nvmm"),
    ({"filt": "video/x-raw, format=RGBA"}, "nvmm-missing"),
    ({"n_sources": 2, "mux_props": {"batch-size": "4", "batched-push-timeout": "33000"},
      "infer_props": {"batch-size": "4"}}, "streammux-batch-sources"),
    ({"infer_props": {"batch-size": "8"}}, "streammux-infer-batch"),
    ({"queue_props": {"leaky": "downstream"}}, "leaky-queue"),
    ({"infer_props": {"batch-size": "1",
                      "model-engine-file": '"/m/model_b1_gpu0_fp32.engine"'}}, "nvinfer-fp32"),
])
def test_graph_rule_fires(tmp_path, kwargs, code):
    v = graph(tmp_path, *ds_pipeline(**kwargs))
    assert code in codes(v)
    clean = graph(tmp_path, *ds_pipeline())
    assert code not in codes(clean)


def test_live_source_rules(tmp_path):
    live = {"src": "rtspsrc", "src_type": "GstRTSPSrc",
            "src_props": {"location": '"rtsp://127.0.0.1:8554/cam"'}}
    v = graph(tmp_path, *ds_pipeline(**live, mux_props={"batch-size": "1",
                                                        "batched-push-timeout": "4000000"}))
    assert {"live-source-unset", "batched-push-timeout"} <= set(codes(v))
    ok = graph(tmp_path, *ds_pipeline(**live, mux_props={
        "batch-size": "1", "batched-push-timeout": "33000", "live-source": "TRUE"}))
    assert not {"live-source-unset", "batched-push-timeout"} & set(codes(ok))
    files = graph(tmp_path, *ds_pipeline(mux_props={"batch-size": "1",
                                                    "batched-push-timeout": "4000000"}))
    assert not {"live-source-unset", "batched-push-timeout"} & set(codes(files))


def test_throughput_rules_depend_on_the_run(tmp_path):
    display = {"sink": "GstEglGlesSink", "sink_props": {}}
    v = graph(tmp_path, *ds_pipeline(**display), "--benchmark")
    sev = {f["code"]: f["severity"] for f in v["findings"]}
    assert sev["sink-sync-throughput"] == "warning"  # nveglglessink syncs by default
    assert sev["display-sink-throughput"] == "warning"
    assert sev["tiler-osd-benchmark"] == "warning"
    files = graph(tmp_path, *ds_pipeline(**display))
    assert {f["severity"] for f in files["findings"] if f["code"] in (
        "sink-sync-throughput", "display-sink-throughput")} == {"info"}
    live = graph(tmp_path, *ds_pipeline(**display, src="rtspsrc", src_type="GstRTSPSrc",
                                        src_props={"location": '"rtsp://h/c"'},
                                        mux_props={"batch-size": "1", "live-source": "TRUE",
                                                   "batched-push-timeout": "33000"}))
    assert not {"sink-sync-throughput", "display-sink-throughput",
                "tiler-osd-benchmark"} & set(codes(live))
    fake = graph(tmp_path, *ds_pipeline(), "--benchmark")
    assert not {"sink-sync-throughput", "display-sink-throughput"} & set(codes(fake))


def test_deepstream_app_config_traps():
    v = doctor_json("--benchmark", str(DS / "app_bad.txt"))
    got = codes(v)
    for code in ("streammux-batch-sources", "live-source-unset", "batched-push-timeout",
                 "osd-cpu-mode", "sink-sync-throughput", "display-sink-throughput",
                 "software-encoder", "tiler-osd-benchmark", "streammux-infer-batch",
                 "nvinfer-fp32"):
        assert code in got, code
    f = next(f for f in v["findings"] if f["code"] == "streammux-batch-sources")
    assert "3 source stream(s)" in f["title"]
    assert any("app_bad.txt:" in e["metric"] and "batch-size=2" in e["value"]
               for e in f["evidence"])
    fp = next(f for f in v["findings"] if f["code"] == "nvinfer-fp32")
    assert "pgie_fp32_b1.txt:" in fp["evidence"][0]["metric"]
    assert all(f["references"] for f in v["findings"])


def test_deepstream_app_config_clean():
    v = doctor_json("--benchmark", str(DS / "app_good.txt"))
    assert codes(v) == []  # the secondary GIE's batch-size=16 counts objects: not compared


def test_nvinfer_config_alone():
    v = doctor_json(str(DS / "pgie_fp32_b1.txt"))
    assert codes(v) == ["nvinfer-fp32"]
    assert codes(doctor_json(str(DS / "pgie_fp16_b2.txt"))) == []
