"""The GST_DEBUG log reader on real logs: the corpus's coloured DeepStream log, gst-launch-1.0's
own output made here, truncated files and other programs' lines."""

from __future__ import annotations

import os
import subprocess

import pytest

from conftest import needs_gst
from pipesight.readers import gst_debug_log as G


def test_corpus_coloured_log(corpus):
    log = G.read(corpus / "deepstream" / "gstdebug_dsl_error_not_linked.log")
    assert len(log.records) == 9 and log.other_lines == 0
    first = log.records[0]
    assert first.level == "WARN" and first.category == "nvinfer"
    assert first.element == "primary_gie_classifier" and first.function == "gst_nvinfer_output_loop"
    assert first.ts_ns == 4_949_390_191 and first.pid == 20706
    assert "\x1b" not in first.raw and first.raw.startswith("0:00:04.949390191")
    assert [r.element for r in log.records if "not-linked" in r.message] == [
        "primary_gie_classifier", "src_elem", "primary_gie_queue"]


@needs_gst
def test_gst_launch_output_with_debug_info(tmp_path):
    env = {**os.environ, "GST_DEBUG": "3", "GST_DEBUG_NO_COLOR": "1"}
    r = subprocess.run(["gst-launch-1.0", "filesrc", "location=/nonexistent/in.mp4", "!",
                        "fakesink"], capture_output=True, text=True, env=env, timeout=30)
    f = tmp_path / "out.txt"
    f.write_text(r.stdout + r.stderr)
    log = G.read(f)
    err = next(x for x in log.records if x.kind == "launch" and x.level == "ERROR"
               and x.element_path)
    assert err.element == "filesrc0" and err.message == "Resource not found."
    assert err.more[0] == "Additional debug info:"
    assert any('No such file "/nonexistent/in.mp4"' in m for m in err.more)
    dbg = next(x for x in log.records if x.kind == "debug" and x.element == "filesrc0")
    assert dbg.file == "gstfilesrc.c" and dbg.level == "WARN"


def test_truncated_and_foreign_lines(corpus, tmp_path):
    data = (corpus / "deepstream" / "gstdebug_dsl_error_not_linked.log").read_bytes()
    cut = data[: len(data) - 40]  # the last record loses its end
    f = tmp_path / "cut.log"
    f.write_bytes(b"starting my app v1.2\n[app] config loaded\n\n" + cut)
    log = G.read(f)
    assert log.other_lines == 2 and log.other_sample[0] == (1, "starting my app v1.2")
    assert len(log.records) >= 8


def test_glib_scanner_message():
    line = ("(gst-plugin-scanner:56): GStreamer-WARNING **: 17:03:23.898: Failed to load plugin "
            "'/usr/lib/x86_64-linux-gnu/gstreamer-1.0/deepstream/libnvdsgst_inferserver.so': "
            "libtritonserver.so: cannot open shared object file: No such file or directory")
    log = G.parse_text("  " + line + "\n", "stderr.log")
    r = log.records[0]
    assert r.kind == "glib" and r.level == "WARN" and r.category == "GStreamer"
    assert r.message.startswith("Failed to load plugin")


def test_binary_file_is_refused(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(bytes(range(256)) * 10)
    with pytest.raises(Exception, match="binary"):
        G.read(f)
