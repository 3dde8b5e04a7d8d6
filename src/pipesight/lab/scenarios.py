"""CPU pipelines of stock GStreamer elements, each with a planted bottleneck.

Each pipeline is a gst-launch-1.0 description whose element names are placeholders, so that
the same pipeline runs with GStreamer-like names or with every element renamed: the verdict
must not change. ``fixed`` replaces or cheapens the culprit; the ground truth (measured by
bench/lab_ground_truth.py, kept in ground_truth.json beside this file) is that the fixed
pipeline is at least 1.5x faster. ``fixed`` applies one of the fixes the verdict proposes
(``fix_action``), and ``variants`` apply others: bench/whatif.py measures each against the rate
the verdict predicted for it.

A scenario with ``app`` runs a small PyGObject application (lab/apps/) that builds the same
kind of description itself: an appsrc fed by Python, a Python pad probe.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

HD = "video/x-raw,width=1280,height=720"


@dataclass(frozen=True)
class Variant:
    action: str  # the verdict fix it applies (findings.Fix.action)
    pipeline: str
    app_args: tuple[str, ...] | None = None  # None: the scenario's own


@dataclass(frozen=True)
class Scenario:
    name: str
    title: str
    planted: str  # what was planted, in words
    pipeline: str  # gst-launch-1.0 description with {placeholders} for element names
    fixed: str  # the same with the culprit replaced or cheapened
    expect_kind: str
    # placeholder of the culprit, a template of placeholders ("probe@{ident}.sink"), or None
    expect_element: str | None
    trap: str = ""  # what a naive reading would get wrong
    cpus: tuple[int, ...] | None = None  # pin to these CPUs (taskset)
    duration_s: float = 5.0
    delay_s: float = 1.5
    needs: tuple[str, ...] = ()  # generated media, see lab/media.py
    # frames for the uninstrumented ground-truth runs (bench/lab_ground_truth.py)
    gt_frames: int = 600
    # "gst-launch": frames / time in PLAYING, uninstrumented; "profile": the sinks' rate from
    # pipesight's tracer, where the source's frames do not all reach the sink (drops)
    gt_method: str = "gst-launch"
    fix_action: str = "remove"  # the verdict's fix that `fixed` applies
    variants: tuple[Variant, ...] = ()
    app: str | None = None  # module of lab/apps that runs the pipeline (PyGObject)
    app_args: tuple[str, ...] = ()  # with {placeholders}
    fixed_args: tuple[str, ...] | None = None  # the fixed variant's (None: app_args)
    frames_arg: str | None = None  # the app's option bounding the frames (ground truth)
    expect_factory: str | None = None  # the culprit sits in a bin: the element of this factory

    def texts(self) -> list[str]:
        parts = [self.pipeline, self.fixed, *self.app_args, *(self.fixed_args or ())]
        for v in self.variants:
            parts += [v.pipeline, *(v.app_args or ())]
        return parts

    def placeholders(self) -> list[str]:
        return sorted(set(re.findall(r"\{(\w+)\}", " ".join(self.texts()))))

    def variant(self, action: str) -> Variant | None:
        return next((v for v in self.variants if v.action == action), None)


SCENARIOS: list[Scenario] = [
    Scenario(
        name="encoder",
        gt_frames=800,
        title="JPEG encoding of 720p frames behind a queue",
        planted="jpegenc on 1280x720 frames, on its own streaming thread",
        pipeline=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
                  f"caps={HD} ! queue name={{q1}} ! jpegenc name={{enc}} ! queue name={{q2}} ! "
                  "fakesink name={sink} sync=false"),
        fixed=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} caps={HD} ! "
               "queue name={q1} ! identity name={enc} ! queue name={q2} ! "
               "fakesink name={sink} sync=false"),
        expect_kind="element",
        expect_element="enc",
    ),
    Scenario(
        name="one-thread",
        gt_frames=800,
        title="No queues: every element on the source's thread",
        planted="jpegenc on 720p frames in a pipeline without a single queue",
        pipeline=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
                  f"caps={HD} ! videoconvert name={{conv}} ! jpegenc name={{enc}} ! "
                  "fakesink name={sink} sync=false"),
        fixed=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} caps={HD} ! "
               "videoconvert name={conv} ! identity name={enc} ! fakesink name={sink} sync=false"),
        expect_kind="element",
        expect_element="enc",
        trap="one thread does everything: the source's thread is busy, but the source is not "
             "what costs",
        variants=(Variant("queue-before", (
            f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} caps={HD} ! "
            "videoconvert name={conv} ! queue name={qv} ! jpegenc name={enc} ! "
            "fakesink name={sink} sync=false")),),
    ),
    Scenario(
        name="decoy",
        gt_frames=600,
        title="A heavy-looking encoder that is not the limit",
        planted="a Lanczos upscale to 1080p on one tee branch, slower than the JPEG encoder on "
                "the other",
        pipeline=("videotestsrc name={src} pattern=black ! capsfilter name={caps} "
                  f"caps={HD},format=I420 ! tee name={{tee}} "
                  "{tee}. ! queue name={q1} ! jpegenc name={enc} ! fakesink name={sink1} "
                  "sync=false "
                  "{tee}. ! queue name={q2} ! videoscale name={scale} method=lanczos ! "
                  "capsfilter name={caps2} caps=video/x-raw,width=1920,height=1080 ! "
                  "fakesink name={sink2} sync=false"),
        fixed=("videotestsrc name={src} pattern=black ! capsfilter name={caps} "
               f"caps={HD},format=I420 ! tee name={{tee}} "
               "{tee}. ! queue name={q1} ! jpegenc name={enc} ! fakesink name={sink1} sync=false "
               "{tee}. ! queue name={q2} ! videoscale name={scale} method=nearest-neighbour ! "
               "capsfilter name={caps2} caps=video/x-raw,width=1920,height=1080 ! "
               "fakesink name={sink2} sync=false"),
        expect_kind="element",
        expect_element="scale",
        trap="the encoder looks like the expensive element, but a scaler on the other branch "
             "sets the pace; the latency tracer also shows the queues holding most latency, "
             "which is waiting, not work",
    ),
    Scenario(
        name="live-source",
        gt_frames=150,
        title="A live camera-like source at 30 fps",
        planted="videotestsrc is-live=true at 30 fps; everything downstream keeps up",
        pipeline=("videotestsrc name={src} is-live=true pattern=black ! capsfilter name={caps} "
                  "caps=video/x-raw,width=640,height=480,framerate=30/1 ! queue name={q1} ! "
                  "jpegenc name={enc} ! fakesink name={sink} sync=false"),
        fixed=("videotestsrc name={src} is-live=false pattern=black ! capsfilter name={caps} "
               "caps=video/x-raw,width=640,height=480,framerate=30/1 ! queue name={q1} ! "
               "jpegenc name={enc} ! fakesink name={sink} sync=false"),
        expect_kind="live-source",
        expect_element="src",
        trap="the encoder is the costliest element, but the pipeline only waits for frames",
        fix_action="not-live",
    ),
    Scenario(
        name="sink-sync",
        gt_frames=150,
        title="A sink synchronising to the clock in a throughput run",
        planted="fakesink sync=true paces a non-live 30 fps stream to real time",
        pipeline=("videotestsrc name={src} pattern=black ! capsfilter name={caps} "
                  "caps=video/x-raw,width=640,height=480,framerate=30/1 ! queue name={q1} ! "
                  "jpegenc name={enc} ! fakesink name={sink} sync=true"),
        fixed=("videotestsrc name={src} pattern=black ! capsfilter name={caps} "
               "caps=video/x-raw,width=640,height=480,framerate=30/1 ! queue name={q1} ! "
               "jpegenc name={enc} ! fakesink name={sink} sync=false"),
        expect_kind="sink-sync",
        expect_element="sink",
        trap="the sink's thread is busy all the time, but waiting for the clock, not computing",
        fix_action="sync-false",
    ),
    Scenario(
        name="tee-branch",
        gt_frames=600,
        title="A slow tee branch without a queue",
        planted="jpegenc on the tee's first branch, which has no queue, so it runs on the "
                "source's thread",
        pipeline=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
                  f"caps={HD} ! tee name={{tee}} "
                  "{tee}. ! jpegenc name={enc} ! fakesink name={sink1} sync=false async=false "
                  "{tee}. ! queue name={q1} ! fakesink name={sink2} sync=false async=false"),
        fixed=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
               f"caps={HD} ! tee name={{tee}} "
               "{tee}. ! identity name={enc} ! fakesink name={sink1} sync=false async=false "
               "{tee}. ! queue name={q1} ! fakesink name={sink2} sync=false async=false"),
        expect_kind="element",
        expect_element="enc",
        trap="(the sink without a queue must not preroll, async=false, or the tee deadlocks) "
             "GStreamer's stats tracer sees only pushes: the tee's second push comes after all "
             "of branch 0's work, so the tee looks slow",
        variants=(Variant("queue-before", (
            f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
            f"caps={HD} ! tee name={{tee}} "
            "{tee}. ! queue name={q0} ! jpegenc name={enc} ! fakesink name={sink1} sync=false "
            "async=false {tee}. ! queue name={q1} ! fakesink name={sink2} sync=false "
            "async=false")),),
    ),
    Scenario(
        name="oversubscribed",
        gt_frames=400,
        title="More busy streaming threads than CPU cores",
        planted="four JPEG encoder branches pinned to two CPUs",
        pipeline=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
                  f"caps={HD} ! tee name={{tee}} "
                  "{tee}. ! queue name={q1} ! jpegenc name={enc1} ! fakesink name={sink1} "
                  "sync=false "
                  "{tee}. ! queue name={q2} ! jpegenc name={enc2} ! fakesink name={sink2} "
                  "sync=false "
                  "{tee}. ! queue name={q3} ! jpegenc name={enc3} ! fakesink name={sink3} "
                  "sync=false "
                  "{tee}. ! queue name={q4} ! jpegenc name={enc4} ! fakesink name={sink4} "
                  "sync=false"),
        fixed=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
               f"caps={HD} ! tee name={{tee}} "
               "{tee}. ! queue name={q1} ! jpegenc name={enc1} ! fakesink name={sink1} "
               "sync=false "
               "{tee}. ! queue name={q2} ! jpegenc name={enc2} ! fakesink name={sink2} "
               "sync=false"),
        expect_kind="cpu",
        expect_element=None,
        trap="every encoder thread looks saturated; none is the limit alone",
        cpus=(0, 1),
        fix_action="reduce-cpu",
    ),
    Scenario(
        name="source",
        gt_frames=150,
        title="A source that cannot produce faster",
        planted="videotestsrc drawing random noise (pattern=snow) at 1080p",
        pipeline=("videotestsrc name={src} pattern=snow ! capsfilter name={caps} "
                  "caps=video/x-raw,width=1920,height=1080 ! queue name={q1} ! "
                  "videoconvert name={conv} ! fakesink name={sink} sync=false"),
        fixed=("videotestsrc name={src} pattern=black ! capsfilter name={caps} "
               "caps=video/x-raw,width=1920,height=1080 ! queue name={q1} ! "
               "videoconvert name={conv} ! fakesink name={sink} sync=false"),
        expect_kind="source",
        expect_element="src",
    ),
    Scenario(
        name="decoder",
        title="Decoding H.264 from an MP4 file (a pull-mode demuxer)",
        planted="single-threaded software H.264 decoding of 720p behind qtdemux reading a file",
        pipeline=("filesrc name={file} location={media_h264_mp4} ! qtdemux name={demux} ! "
                  "queue name={q1} ! avdec_h264 name={dec} max-threads=1 ! "
                  "queue name={q2} ! fakesink name={sink} sync=false"),
        fixed=("filesrc name={file} location={media_h264_mp4} ! qtdemux name={demux} ! "
               "queue name={q1} ! h264parse name={dec} ! queue name={q2} ! "
               "fakesink name={sink} sync=false"),
        expect_kind="element",
        expect_element="dec",
        needs=("h264_mp4",),
        duration_s=5.0,
        # the 900-frame file decodes in about 1.2 s on a quiet 2-core machine: a long warm-up
        # skip would leave nothing to judge, and a decoder has no warm-up worth skipping
        delay_s=0.3,
    ),
    Scenario(
        name="live-sync",
        gt_frames=150,
        title="A live camera-like source and a sink that synchronises to the clock",
        planted="videotestsrc is-live=true at 30 fps into fakesink sync=true; everything keeps "
                "up",
        pipeline=("videotestsrc name={src} is-live=true pattern=black ! capsfilter name={caps} "
                  "caps=video/x-raw,width=640,height=480,framerate=30/1 ! queue name={q1} ! "
                  "jpegenc name={enc} ! fakesink name={sink} sync=true"),
        fixed=("videotestsrc name={src} is-live=false pattern=black ! capsfilter name={caps} "
               "caps=video/x-raw,width=640,height=480,framerate=30/1 ! queue name={q1} ! "
               "jpegenc name={enc} ! fakesink name={sink} sync=false"),
        expect_kind="live-source",
        expect_element="src",
        trap="the sink waits for the clock most of the time, like a sink-sync bottleneck, but a "
             "live source sets the rate: sync=false would gain nothing. The fixed variant (not "
             "live, no sync) measures the capacity the headroom predicts",
        fix_action="not-live",
    ),
    Scenario(
        name="leaky",
        title="A leaky queue that drops in front of a slow encoder",
        planted="a leaky queue (leaky=downstream, 4 buffers) before jpegenc on 720p frames",
        pipeline=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
                  f"caps={HD} ! queue name={{q1}} leaky=downstream max-size-buffers=4 "
                  "max-size-bytes=0 max-size-time=0 ! jpegenc name={enc} ! "
                  "fakesink name={sink} sync=false"),
        fixed=(f"videotestsrc name={{src}} pattern=black ! capsfilter name={{caps}} "
               f"caps={HD} ! queue name={{q1}} leaky=downstream max-size-buffers=4 "
               "max-size-bytes=0 max-size-time=0 ! identity name={enc} ! "
               "fakesink name={sink} sync=false"),
        expect_kind="element",
        expect_element="enc",
        trap="the source's thread is saturated too (it makes frames the queue drops) and the "
             "drops catch the eye; the drops are the symptom, the encoder after them the cause",
        gt_method="profile",
    ),
    Scenario(
        name="aggregator",
        gt_frames=300,
        title="A compositor waiting for its slowest input",
        planted="two inputs into compositor; one is scaled down with Lanczos from 720p",
        pipeline=("videotestsrc name={src1} pattern=black ! capsfilter name={caps1} "
                  "caps=video/x-raw,width=640,height=360,framerate=30/1 ! queue name={q1} ! "
                  "compositor name={mix} ! capsfilter name={caps3} "
                  "caps=video/x-raw,width=640,height=360 ! fakesink name={sink} sync=false "
                  "videotestsrc name={src2} pattern=black ! capsfilter name={caps2} "
                  "caps=video/x-raw,format=I420,width=1280,height=720,framerate=30/1 ! "
                  "videoscale name={scale} method=lanczos ! capsfilter name={caps4} "
                  "caps=video/x-raw,width=640,height=360 ! queue name={q2} ! {mix}."),
        fixed=("videotestsrc name={src1} pattern=black ! capsfilter name={caps1} "
               "caps=video/x-raw,width=640,height=360,framerate=30/1 ! queue name={q1} ! "
               "compositor name={mix} ! capsfilter name={caps3} "
               "caps=video/x-raw,width=640,height=360 ! fakesink name={sink} sync=false "
               "videotestsrc name={src2} pattern=black ! capsfilter name={caps2} "
               "caps=video/x-raw,format=I420,width=1280,height=720,framerate=30/1 ! "
               "videoscale name={scale} method=nearest-neighbour ! capsfilter name={caps4} "
               "caps=video/x-raw,width=640,height=360 ! queue name={q2} ! {mix}."),
        expect_kind="element",
        expect_element="scale",
        trap="the compositor's thread and the fast input wait on the aggregator, which looks "
             "like the slow part; it waits for its slowest input",
    ),
    Scenario(
        name="appsrc-app",
        title="An application that cannot feed its appsrc faster",
        planted="a Python thread spends 4 ms of CPU making each frame it pushes into appsrc",
        pipeline=("appsrc name={src} ! queue name={q1} ! videoconvert name={conv} ! "
                  "fakesink name={sink} sync=false"),
        fixed=("appsrc name={src} ! queue name={q1} ! videoconvert name={conv} ! "
               "fakesink name={sink} sync=false"),
        app="appsrc_feeder",
        app_args=("--appsrc", "{src}", "--work-ms", "4"),
        # half the application's work: what the verdict's prediction is for
        fixed_args=("--appsrc", "{src}", "--work-ms", "2"),
        frames_arg="--num-buffers",
        gt_frames=600,
        expect_kind="source",
        expect_element="src",
        trap="no streaming thread computes: appsrc only waits, like a network source; the "
             "thread feeding it makes no pad pushes and shows only in the kernel's accounting",
        fix_action="feed-faster",
        needs=("pygobject",),
    ),
    Scenario(
        name="python-probe",
        title="A Python pad probe doing per-frame work",
        planted="a buffer probe written in Python spending 3 ms of CPU per buffer on an "
                "identity's sink pad",
        pipeline=("videotestsrc name={src} pattern=black ! capsfilter name={caps} "
                  "caps=video/x-raw,width=320,height=240 ! queue name={q1} ! "
                  "identity name={ident} ! fakesink name={sink} sync=false"),
        fixed=("videotestsrc name={src} pattern=black ! capsfilter name={caps} "
               "caps=video/x-raw,width=320,height=240 ! queue name={q1} ! "
               "identity name={ident} ! fakesink name={sink} sync=false"),
        app="probe",
        app_args=("--probe-on", "{ident}", "--work-ms", "3"),
        fixed_args=("--probe-on", "{ident}", "--work-ms", "0.3"),
        gt_frames=600,
        expect_kind="element",
        expect_element="probe@{ident}.sink",
        trap="the probe runs inside the push into identity: without probe records its time "
             "would be identity's, which does nothing",
        needs=("pygobject",),
    ),
    Scenario(
        name="decodebin",
        title="decodebin with its internal multiqueue, decoding H.264",
        planted="software H.264 decoding inside decodebin (qtdemux, multiqueue, h264parse, "
                "avdec_h264 with its frame threads)",
        pipeline=("filesrc name={file} location={media_h264_mp4} ! decodebin name={dec} ! "
                  "fakesink name={sink} sync=false"),
        fixed=("filesrc name={file} location={media_h264_mp4} ! parsebin name={dec} ! "
               "fakesink name={sink} sync=false"),
        expect_kind="element",
        expect_element=None,
        expect_factory="avdec_h264",
        trap="the decoder sits inside a bin behind a multiqueue and decodes on threads of its "
             "own: its streaming thread only waits for them",
        needs=("h264_mp4",),
        delay_s=0.3,
    ),
]


def by_name(name: str) -> Scenario | None:
    return next((s for s in SCENARIOS if s.name == name), None)


def ground_truth() -> dict[str, Any]:
    try:
        text = (resources.files("pipesight.lab") / "ground_truth.json").read_text()
    except FileNotFoundError:
        return {}
    return json.loads(text)
