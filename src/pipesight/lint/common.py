"""What the lint rules share: element kinds by factory, the documented sources of each piece
of advice, and whether a run is a throughput run."""

from __future__ import annotations

import re
from typing import Any

from pipesight.trace import Element

# where each rule's advice is documented
DOCS = {
    "ds-faq-streammux": "https://forums.developer.nvidia.com/t/deepstream-sdk-faq/80236/34",
    "ds-troubleshooting": "https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/"
                          "DS_troubleshooting.html",
    "ds-batch-forum": "https://forums.developer.nvidia.com/t/how-to-accelerate-single-stream-"
                      "pipeline-with-batch-size-grater-then-1/235348/6",
    "ds-osd": "https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/"
              "DS_plugin_gst-nvdsosd.html",
    "ds-nvinfer": "https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/"
                  "DS_plugin_gst-nvinfer.html",
    "ds-app": "https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/"
              "DS_ref_app_deepstream.html",
    "ds-nvvideoconvert": "https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/"
                         "DS_plugin_gst-nvvideoconvert.html",
    "ds-encoder": "https://docs.nvidia.com/metropolis/deepstream/dev-guide/text/"
                  "DS_plugin_gst-nvvideo4linux2.html",
    "ds-bootcamp-osd-tiler": "https://github.com/edmondium/gpubootcamp (DeepStream performance "
                             "notebook: Effects on OSD, Tiler and Queues)",
    "gst-queue": "https://gstreamer.freedesktop.org/documentation/coreelements/queue.html",
    "gst-basesink": "https://gstreamer.freedesktop.org/documentation/base/gstbasesink.html",
}

# GType names as DOT dumps show them -> factory names
TYPE_FACTORY = {
    "GstNvDsOsd": "nvdsosd", "GstNvInfer": "nvinfer", "GstNvInferServer": "nvinferserver",
    "GstNvStreamMux": "nvstreammux", "GstNvStreamDemux": "nvstreamdemux",
    "GstNvMultiStreamTiler": "nvmultistreamtiler", "Gstnvvideoconvert": "nvvideoconvert",
    "GstNvTracker": "nvtracker", "GstEglGlesSink": "nveglglessink",
    "GstNvOverlaySink-nvoverlaysink": "nvoverlaysink", "GstNv3dSink": "nv3dsink",
    "GstNvDrmVideoSink": "nvdrmvideosink", "GstDsNvUriSrcBin": "nvurisrcbin",
    "GstDsNvMultiUriBin": "nvmultiurisrcbin", "GstNvArgusCameraSrc": "nvarguscamerasrc",
    "GstVideoConvert": "videoconvert", "GstVideoScale": "videoscale",
    "GstVideoConvertScale": "videoconvertscale", "GstX264Enc": "x264enc",
    "GstX265Enc": "x265enc", "GstOpenh264Enc": "openh264enc", "GstVP8Enc": "vp8enc",
    "GstVP9Enc": "vp9enc", "GstJpegEnc": "jpegenc", "GstSvtAv1Enc": "svtav1enc",
    "GstQueue": "queue", "GstQueue2": "queue2", "GstMultiQueue": "multiqueue",
    "GstFakeSink": "fakesink", "GstFakeVideoSink": "fakevideosink", "GstXvImageSink": "xvimagesink",
    "GstXImageSink": "ximagesink", "GstGLImageSinkBin": "glimagesink",
    "GstGLImageSink": "glimagesinkelement", "GstAutoVideoSink": "autovideosink",
    "GstWaylandSink": "waylandsink", "GstKMSSink": "kmssink", "GstFPSDisplaySink": "fpsdisplaysink",
    "GstFileSink": "filesink", "GstSplitMuxSink": "splitmuxsink", "GstAppSink": "appsink",
    "GstRTSPSrc": "rtspsrc", "GstV4l2Src": "v4l2src", "GstURIDecodeBin": "uridecodebin",
    "GstURIDecodeBin3": "uridecodebin3", "GstFileSrc": "filesrc", "GstTee": "tee",
    "GstCapsFilter": "capsfilter", "GstUDPSrc": "udpsrc", "GstVideoTestSrc": "videotestsrc",
    "GstAppSrc": "appsrc", "GstIdentity": "identity",
}
NVMM = {"nvstreammux", "nvstreamdemux", "nvinfer", "nvinferserver", "nvtracker", "nvdsosd",
        "nvmultistreamtiler", "nvv4l2decoder", "nvv4l2h264enc", "nvv4l2h265enc", "nvdsanalytics",
        "nvdspreprocess", "nvvideoconvert", "nvegltransform", "nveglglessink", "nv3dsink"}
# elements that only take NVMM frames on their video input
NVMM_ONLY_INPUT = {"nvstreammux", "nvinfer", "nvinferserver", "nvtracker", "nvdsosd",
                   "nvmultistreamtiler", "nvv4l2h264enc", "nvv4l2h265enc", "nvdsanalytics"}
CPU_CONVERTERS = {"videoconvert", "videoscale", "videoconvertscale"}
SW_ENCODERS = {"x264enc", "x265enc", "openh264enc", "vp8enc", "vp9enc", "svtav1enc", "rav1enc",
               "av1enc", "theoraenc", "jpegenc"}
DISPLAY_SINKS = {"nveglglessink", "nvoverlaysink", "nv3dsink", "nvdrmvideosink", "xvimagesink",
                 "ximagesink", "glimagesink", "glimagesinkelement", "autovideosink", "waylandsink",
                 "kmssink", "fpsdisplaysink", "gtksink", "gtkglsink"}
# sinks whose sync property defaults to TRUE (GstBaseSink's default) unless a DOT says otherwise
SYNC_DEFAULT_TRUE = DISPLAY_SINKS | {"appsink"}
SYNC_DEFAULT_FALSE = {"fakesink", "filesink", "fakevideosink", "multifilesink"}
PASS_THROUGH = {"queue", "queue2", "capsfilter", "identity", "tee", "multiqueue", "valve"}
LIVE_SOURCES = {"rtspsrc", "v4l2src", "nvarguscamerasrc", "nvv4l2camerasrc", "udpsrc", "srtsrc",
                "rtmpsrc", "souphttpsrc", "ksvideosrc", "libcamerasrc"}
FILE_SOURCES = {"filesrc", "multifilesrc"}


def factory(e: Element) -> str:
    if e.factory:
        return e.factory
    t = e.type or ""
    if t in TYPE_FACTORY:
        return TYPE_FACTORY[t]
    if t.startswith(("avenc_", "avdec_", "nvv4l2")):
        return t
    return re.sub(r"^Gst", "", t).lower()


def prop_str(v: Any) -> str | None:
    if v is None:
        return None
    return str(v).strip().strip('"')


def prop_bool(v: Any) -> bool | None:
    s = prop_str(v)
    if s is None:
        return None
    if s.lower() in ("true", "1", "yes"):
        return True
    if s.lower() in ("false", "0", "no"):
        return False
    return None


def prop_int(v: Any) -> int | None:
    s = prop_str(v)
    if s is None:
        return None
    try:
        return int(s, 0)
    except ValueError:
        return None


def engine_batch_and_precision(engine: str | None) -> tuple[int | None, str | None]:
    """DeepStream names the engines it builds MODEL_b{batch}_gpu{id}_{fp32|fp16|int8}.engine."""
    if not engine:
        return None, None
    m = re.search(r"_b(\d+)_(?:gpu|dla)\d+_(fp32|fp16|int8)\.engine", engine)
    if not m:
        return None, None
    return int(m.group(1)), m.group(2)


def run_kind(benchmark: bool, sources: list[str]) -> str:
    """'benchmark' (the user said so), 'files' (only file inputs: likely a throughput run) or
    'live'/'unknown'."""
    if benchmark:
        return "benchmark"
    if sources and all(s == "file" for s in sources):
        return "files"
    if any(s == "live" for s in sources):
        return "live"
    return "unknown"
