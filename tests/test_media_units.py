"""Units that say what was counted (issue 17, item 6): an audio pipeline's rate in buffers and
samples per second with its real-time factor, a sink fed a container counted at the muxer's
input, a muxer not called a queue, a queue never fuller than full. Real pipelines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.analyses.context import Context
from pipesight.workflows.answer import answer

pytestmark = [needs_gst, pytest.mark.slow]


def profile(out: Path, *desc: str, extra: tuple[str, ...] = ()) -> tuple[dict, str]:
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(out), *extra,
                        "--", "gst-launch-1.0", *desc], capture_output=True, text=True,
                       timeout=180)
    assert r.returncode == 0, r.stderr
    return json.loads((out / "verdict.json").read_text()), " ".join(r.stdout.split())


def test_vorbis_in_ogg_is_counted_in_samples_against_real_time(tmp_path):
    # the pipeline: it reported 399.6 "fps" (ogg pages at the sink)
    v, out = profile(tmp_path / "run", "audiotestsrc", "num-buffers=4000", "!", "audioconvert",
                     "!", "vorbisenc", "!", "oggmux", "!", "filesink",
                     f"location={tmp_path / 'a.ogg'}")
    assert v["throughput_unit"] == "buffers"
    s = v["sinks"][0]
    assert s["media"] == "audio" and s["unit"] == "buffers"
    assert s["counted_at"] == "vorbisenc0.src"  # the encoder's packets into the muxer
    assert s["sink_buffers"] < s["frames"] / 5  # pages: many packets each
    a = v["audio"]
    assert a["rate_hz"] == 44100 and a["basis"] == "timestamps"
    # a file source runs far faster than real time, and samples = seconds of audio x rate
    assert a["realtime_factor"] > 2
    assert a["samples_per_s"] == pytest.approx(a["realtime_factor"] * 44100, rel=1e-3)
    assert "x real time" in out and "samples/s at 44.1 kHz" in out
    assert f"{v['throughput_fps']:.1f} buffers/s" in out and " fps " not in out.split("(")[0]


def test_raw_audio_samples_come_from_its_bytes(tmp_path):
    # long enough for a window past the minimum a verdict needs (0.5 s), even at full speed
    v, _ = profile(tmp_path / "run", "audiotestsrc", "num-buffers=40000", "samplesperbuffer=480",
                   "!", "audioconvert", "!", "audio/x-raw,format=S16LE,channels=2,rate=48000",
                   "!", "fakesink", "sync=false")
    a = v["audio"]
    assert a["basis"] == "bytes" and a["rate_hz"] == 48000
    # 480 samples in every buffer: samples per second / buffers per second
    assert a["samples_per_s"] / v["throughput_fps"] == pytest.approx(480, rel=0.02)


def test_live_audio_runs_at_real_time(tmp_path):
    v, _ = profile(tmp_path / "run", "audiotestsrc", "is-live=true", "num-buffers=120", "!",
                   "audioconvert", "!", "fakesink", "sync=true")
    assert v["audio"]["realtime_factor"] == pytest.approx(1.0, rel=0.05)


def test_an_mp4_file_is_counted_in_frames_before_the_muxer(tmp_path):
    v, out = profile(tmp_path / "run", "videotestsrc", "num-buffers=600", "!",
                     "video/x-raw,width=320,height=240", "!", "avenc_mpeg4", "!", "queue", "!",
                     "mp4mux", "!", "filesink", f"location={tmp_path / 'v.mp4'}")
    s = v["sinks"][0]
    assert v["throughput_unit"] == "frames" and v["audio"] is None
    assert s["counted_at"] == "queue0.src" and s["media"] == "video"
    src = v["sources"][0]["fps"]
    # frames into the muxer keep the source's pace, whatever pieces the file is written in
    # (a header, a chunk per sample, an index at the end)
    assert v["throughput_fps"] == pytest.approx(src, rel=0.1)
    assert isinstance(s["sink_buffers"], int) and s["sink_buffers"] != s["frames"]
    assert " fps" in out


def test_a_muxer_is_not_called_a_queue(tmp_path):
    profile(tmp_path / "run", "videotestsrc", "num-buffers=300", "!",
            "video/x-raw,width=320,height=240", "!", "avenc_mpeg4", "!", "queue", "!",
            "mp4mux", "!", "filesink", f"location={tmp_path / 'v.mp4'}")
    a = answer(tmp_path / "run")
    ctx = Context(a.trace, a.metrics)
    mux = a.trace.topology.by_name("mp4mux0").id
    q = a.trace.topology.by_name("queue0").id
    assert ctx.handover_words([q], "after") == "the queue after it (queue0)"
    assert ctx.handover_words([mux], "after") == \
        "the element after it that hands buffers to another thread (mp4mux0)"


def test_a_queue_past_its_byte_limit_is_full_not_fuller(tmp_path):
    # a 3 MB queue of 2.8 MB frames (RGB) takes a second one while under its limit: 5.5 MB,
    # 184% of it, and a producer blocked on it counted as in it made 4 frames, 368% (main
    # said a mean fill of 260%). Full is 100%.
    v, _ = profile(tmp_path / "run", "videotestsrc", "num-buffers=400", "!",
                   "video/x-raw,width=1280,height=720", "!", "queue", "max-size-buffers=0",
                   "max-size-time=0", "max-size-bytes=3000000", "!", "jpegenc", "!",
                   "fakesink", "sync=false")
    q = next(x for x in v["queues"] if x["element"] == "queue0")
    assert q["limits"] == {"bytes": 3000000}
    assert q["full_pct"] > 50 and 0.9 <= q["mean_fill"] <= 1.0
    assert q["max_level_buffers"] <= 3
