"""doctor on the real logs and graphs of the shared corpus."""

from __future__ import annotations

from doctor_helpers import codes, doctor_json, finding


def test_deepstream_not_linked_log(corpus):
    v = doctor_json(str(corpus / "deepstream" / "gstdebug_dsl_error_not_linked.log"))
    f = finding(v, "not-linked")
    assert f["subject"] == "primary_gie_classifier"
    assert "src_elem, primary_gie_queue" in f["detail"]
    assert "gst_nvinfer_output_loop:<primary_gie_classifier>" in f["evidence"][0]["value"]
    assert codes(v) == ["not-linked"]


def test_dot_caught_mid_transition(corpus):
    v = doctor_json(str(corpus / "gst" / "dsl_state-playing2_streamdemux.dot"))
    f = finding(v, "never-playing")
    assert "wdemuxer21-nveglglessink" in f["title"]
    assert "wdemuxer11-nveglglessink" not in f["title"]  # that one reached PAUSED
    assert "PLAYING" in f["title"]


def test_playing_dot_is_not_stuck(corpus):
    v = doctor_json(str(corpus / "gst" / "dsl_overlay-sink.dot"))
    assert "never-playing" not in codes(v)


def test_lint_on_deepstream_graphs(corpus):
    v = doctor_json(str(corpus / "gst" / "dsl_overlay-sink.dot"))
    f = finding(v, "osd-cpu-mode")
    assert f["subject"] == "nvosd0" and "process-mode=CPU_MODE" in f["evidence"][0]["value"]
    assert f["references"]
    v = doctor_json(str(corpus / "gst" / "z430_deepstream_python_pipeline.dot"))
    f = finding(v, "streammux-infer-batch")
    assert "model_b4_gpu0_fp32.engine" in f["evidence"][1]["value"]
    assert finding(v, "nvinfer-fp32")["severity"] == "info"
