"""doctor on three real pipelines that fail around muxers and files, each with the fix it
proposes run too:

- raw frames read with filesrc and encoded into mp4mux: "Buffer has no PTS" (the source
  stamps no time; rawvideoparse does);
- a tee whose two branches meet in matroskamux without a queue: a deadlock (a queue on each
  branch fixes it);
- avdec_h264 ! avenc_mpeg4 ! filesink: a 0-byte file with no error at all (the encoder
  stamps an impossible time and the sink drops every buffer; a muxer after it writes them).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import needs_gst
from doctor_helpers import REPO, codes, doctor, doctor_json, finding

pytestmark = [needs_gst, pytest.mark.slow]
CLIP = REPO / "src" / "pipesight" / "lab" / "gpu" / "media" / "clip0.mp4"
W, H = 320, 240


def has(factory: str) -> bool:
    return subprocess.run(["gst-inspect-1.0", "--exists", factory]).returncode == 0


@pytest.fixture(scope="module")
def raw_frames(tmp_path_factory) -> Path:
    """60 raw I420 frames in a file, as a capture card or a decoder dump would leave them."""
    out = tmp_path_factory.mktemp("raw") / "frames.yuv"
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=60", "!",
                    f"video/x-raw,format=I420,width={W},height={H}", "!", "filesink",
                    f"location={out}"], check=True, timeout=60)
    assert out.stat().st_size == 60 * W * H * 3 // 2
    return out


def run(tmp_path: Path, name: str, *pipeline: str, stall: str = "5") -> dict:
    return doctor_json("-o", str(tmp_path / name), "--stall", stall, "--timeout", "60",
                       "--grace", "2", "--", "gst-launch-1.0", *pipeline, timeout=120)


# -- a muxer given buffers without timestamps ------------------------------------------


@pytest.mark.parametrize("encoder, muxer", [(["openh264enc", "!", "h264parse"], "mp4mux"),
                                            (["jpegenc"], "qtmux")])
def test_raw_file_into_a_muxer_has_no_pts(tmp_path, raw_frames, encoder, muxer):
    if not has(encoder[0]):
        pytest.skip(f"{encoder[0]} not installed")
    out = tmp_path / "out.mp4"
    v = run(tmp_path, "run", "filesrc", f"location={raw_frames}", f"blocksize={W * H * 3 // 2}",
            "!", f"video/x-raw,format=I420,width={W},height={H},framerate=30/1", "!",
            *encoder, "!", muxer, "!", "filesink", f"location={out}")
    f = finding(v, "no-timestamps")
    assert f["subject"] == f"{muxer}0"
    assert any("Buffer has no PTS" in str(e["value"]) for e in f["evidence"])
    # the path back to the source, from the pipeline graph, and why it carries no time
    assert any(e["source"] == "dot" and str(e["value"]).startswith("filesrc0 ! capsfilter0")
               for e in f["evidence"])
    assert "filesrc0, which reads bytes and stamps no time" in f["detail"]
    assert f"rawvideoparse width={W} height={H} format=i420 framerate=30/1" in f["fix"]
    # filesrc0's "Internal data stream error" is the same failure, not a second problem
    assert codes(v) == ["no-timestamps"], codes(v)
    # and nothing tells the user to run again what doctor just ran
    assert all("GST_DEBUG=3 (pipesight doctor" not in (g["fix"] or "") for g in v["findings"])

    fixed = tmp_path / "fixed.mp4"
    v2 = run(tmp_path, "fixed", "filesrc", f"location={raw_frames}", "!", "rawvideoparse",
             f"width={W}", f"height={H}", "format=i420", "framerate=30/1", "!", *encoder, "!",
             muxer, "!", "filesink", f"location={fixed}")
    assert [g for g in v2["findings"] if g["severity"] == "critical"] == []
    assert fixed.stat().st_size > 10_000


def test_an_error_without_a_rule_never_asks_for_the_run_just_made(tmp_path):
    """qtdemux on a file that is not MP4: no rule explains it; the advice names what this
    run did not have (the element's own category in detail), not GST_DEBUG=3."""
    bogus = tmp_path / "not-a-movie.mp4"
    bogus.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    v = run(tmp_path, "run", "filesrc", f"location={bogus}", "!", "qtdemux", "!", "fakesink")
    errs = [f for f in v["findings"] if f["code"] == "pipeline-error"]
    assert errs, codes(v)
    for f in errs:
        assert "GST_DEBUG=3 (pipesight doctor -- COMMAND does)" not in f["fix"]
        assert "This run logged GST_DEBUG=3" in f["fix"]
        assert "GST_DEBUG=3,qtdemux:6 pipesight doctor" in f["fix"]
    # qtdemux0's "Internal data stream error" is its own error seen again, not another problem
    assert not any("Internal data stream error" in f["title"] for f in errs)


# -- a tee feeding a muxer without queues ----------------------------------------------


@pytest.mark.skipif(shutil.which("eu-stack") is None, reason="eu-stack (elfutils) not installed")
def test_tee_into_a_muxer_without_queues_deadlocks(tmp_path):
    out = tmp_path / "tee.mkv"
    v = run(tmp_path, "run", "videotestsrc", "num-buffers=100", "!",
            f"video/x-raw,width={W},height={H}", "!", "tee", "name=t", "t.", "!", "jpegenc", "!",
            "mux.", "t.", "!", "jpegenc", "!", "mux.", "matroskamux", "name=mux", "!",
            "filesink", f"location={out}", stall="2")
    f = finding(v, "hang-aggregator")
    assert f["subject"] == "mux" and f["confidence"] == "confirmed"
    assert "t feeds mux on 2 branches with no queue" in f["title"]
    assert "t.src_0 -> jpegenc0 -> mux.video_0" in f["detail"]
    assert "t.src_1 -> jpegenc1 -> mux.video_1" in f["detail"]
    assert "t. ! queue ! jpegenc ! mux." in f["fix"]
    assert any(e["source"] == "dot" for e in f["evidence"])
    assert "does not recognise" not in f["title"] + f["detail"]
    assert out.stat().st_size == 0  # the deadlock is before the first buffer

    fixed = tmp_path / "fixed.mkv"
    v2 = run(tmp_path, "fixed", "videotestsrc", "num-buffers=100", "!",
             f"video/x-raw,width={W},height={H}", "!", "tee", "name=t", "t.", "!", "queue", "!",
             "jpegenc", "!", "mux.", "t.", "!", "queue", "!", "jpegenc", "!", "mux.",
             "matroskamux", "name=mux", "!", "filesink", f"location={fixed}", stall="2")
    assert [g for g in v2["findings"] if g["severity"] == "critical"] == []
    assert fixed.stat().st_size > 100_000


# -- a 0-byte output file ---------------------------------------------------------------


@pytest.mark.skipif(not CLIP.exists(), reason="the lab's clips are not in this checkout")
def test_zero_byte_output_is_explained(tmp_path):
    for f in ("avdec_h264", "avenc_mpeg4", "qtdemux"):
        if not has(f):
            pytest.skip(f"{f} not installed")
    out = tmp_path / "out.m4v"
    head = ["filesrc", f"location={CLIP}", "!", "qtdemux", "!", "h264parse", "!", "avdec_h264",
            "!", "avenc_mpeg4"]
    r = doctor("--json", "-o", str(tmp_path / "run"), "--", "gst-launch-1.0", *head, "!",
               "filesink", f"location={out}", timeout=120)
    assert out.exists() and out.stat().st_size == 0  # the trap is real
    v = json.loads(r.stdout)
    f = finding(v, "output-empty")
    assert f["subject"] == "filesink0" and f["severity"] == "critical"
    assert str(out) in f["title"] and "0 bytes" in f["title"]
    # why: the buffers got there, with an impossible time put on them by the encoder
    assert "2562047:47:16.854775808" in f["detail"]
    assert "avenc_mpeg4-0 put it on them" in f["detail"]
    assert "0:00:00.000000000 to 0:00:01.9" in f["detail"]
    tracer = [e["value"] for e in f["evidence"] if e["source"] == "tracer"]
    assert any(str(v_).startswith("60 buffers") for v_ in tracer)
    assert "mpeg4videoparse ! avimux" in f["fix"]

    fixed = tmp_path / "fixed.avi"
    v2 = run(tmp_path, "fixed", *head, "!", "mpeg4videoparse", "!", "avimux", "!", "filesink",
             f"location={fixed}")
    assert "output-empty" not in codes(v2)
    assert fixed.stat().st_size > 10_000


def test_output_locations_and_sizes(tmp_path):
    """Where each writer writes (the command line when no graph was dumped), and a pattern's
    files summed: a multifilesink with empty frames is empty, a missing file is no file."""
    from pipesight.doctor.output_files import locations, measure

    cmd = ["gst-launch-1.0", "videotestsrc", "!", "tee", "name=t", "t.", "!", "queue", "!",
           "jpegenc", "!", "multifilesink", "location=frame%05d.jpg", "t.", "!", "queue", "!",
           "filesink", "name=out", "location=/nowhere/x.raw"]
    assert locations([], cmd) == [("multifilesink0", "multifilesink", "frame%05d.jpg"),
                                  ("out", "filesink", "/nowhere/x.raw")]
    for i in range(3):
        (tmp_path / f"frame{i:05d}.jpg").write_bytes(b"")
    m = measure("multifilesink0", "multifilesink", "frame%05d.jpg", tmp_path)
    assert (m.files, m.bytes) == (3, 0)
    (tmp_path / "frame00003.jpg").write_bytes(b"x" * 10)
    assert measure("multifilesink0", "multifilesink", "frame%05d.jpg", tmp_path).bytes == 10
    assert measure("out", "filesink", "/nowhere/x.raw", tmp_path).bytes is None
