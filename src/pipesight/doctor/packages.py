"""Where an element factory comes from: the Debian/Ubuntu package that installs it, or the
NVIDIA DeepStream plugin file that registers it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import lru_cache

from pipesight.doctor.package_table import GENERATED

# Packages whose Debian metadata carries no Gstreamer-Elements field; their factories as
# gst-inspect-1.0 lists them (core elements live in the GStreamer library package itself).
EXTRA: dict[str, str] = {
    "libgstreamer1.0-0": "capsfilter clocksync concat dataurisrc downloadbuffer fakesink "
                         "fakesrc fdsink fdsrc filesink filesrc funnel identity input-selector "
                         "multiqueue output-selector queue queue2 streamiddemux tee typefind valve",
    "gstreamer1.0-pulseaudio": "pulsesink pulsesrc pulsedeviceprovider",
    "gstreamer1.0-nice": "nicesink nicesrc",
    "gstreamer1.0-pipewire": "pipewiresink pipewiresrc",
    "gstreamer1.0-rtsp": "rtspclientsink",
    # nvcodec registers its elements only where CUDA is found, so the metadata leaves them out
    "gstreamer1.0-plugins-bad": "nvh264dec nvh265dec nvh264enc nvh265enc nvjpegdec nvvp8dec "
                                "nvvp9dec cudaupload cudadownload cudaconvert cudascale",
}

# DeepStream SDK factories and the plugin file that registers them (DeepStream installs them
# under /usr/lib/<arch>/gstreamer-1.0/deepstream/ or /opt/nvidia/deepstream/.../lib/gst-plugins)
DEEPSTREAM: dict[str, str] = {
    "nvinfer": "libnvdsgst_infer.so",
    "nvinferserver": "libnvdsgst_inferserver.so",
    "nvstreammux": "libnvdsgst_multistream.so",
    "nvstreamdemux": "libnvdsgst_multistream.so",
    "nvmultistreamtiler": "libnvdsgst_multistreamtiler.so",
    "nvdsosd": "libnvdsgst_osd.so",
    "nvtracker": "libnvdsgst_tracker.so",
    "nvvideoconvert": "libgstnvvideoconvert.so",
    "nvv4l2decoder": "libgstnvvideo4linux2.so",
    "nvv4l2h264enc": "libgstnvvideo4linux2.so",
    "nvv4l2h265enc": "libgstnvvideo4linux2.so",
    "nveglglessink": "libnvdsgst_eglglessink.so",
    "nvmultiurisrcbin": "libnvdsgst_nvmultiurisrcbin.so",
    "nvdsanalytics": "libnvdsgst_dsanalytics.so",
    "nvmsgconv": "libnvdsgst_msgconv.so",
    "nvmsgbroker": "libnvdsgst_msgbroker.so",
}


@dataclass(frozen=True)
class Origin:
    factory: str
    package: str | None  # Debian/Ubuntu package
    plugin_file: str | None  # DeepStream plugin file
    deepstream: bool

    def install_hint(self) -> str:
        if self.package:
            return f"sudo apt-get install {self.package}"
        if self.deepstream:
            return ("install the NVIDIA DeepStream SDK (its plugins are not Debian packages) and "
                    "make sure GStreamer finds its plugin directory")
        return ""


@lru_cache(maxsize=1)
def _table() -> dict[str, str]:
    out: dict[str, str] = {}
    for pkg, (_, names) in GENERATED.items():
        for n in names.split():
            out.setdefault(n, pkg)
    for pkg, names in EXTRA.items():
        for n in names.split():
            out.setdefault(n, pkg)
    return out


def origin(factory: str) -> Origin:
    t = _table()
    if factory in t:
        return Origin(factory, t[factory], None, False)
    if factory.startswith(("avdec_", "avenc_", "avdemux_", "avmux_", "avdeinterlace")):
        return Origin(factory, "gstreamer1.0-libav", None, False)
    if factory.startswith(("vaapi",)):
        return Origin(factory, "gstreamer1.0-vaapi", None, False)
    if factory in DEEPSTREAM:
        return Origin(factory, None, DEEPSTREAM[factory], True)
    if factory.startswith(("nvds", "nvv4l2", "nvinfer", "nvstream", "nvmultistream", "nvmsg",
                           "nvurisrc", "nvof", "nvseg", "nvdewarper", "nvjpeg", "nvtracker")):
        return Origin(factory, None, None, True)
    return Origin(factory, None, None, False)


def known_factories() -> list[str]:
    return sorted(set(_table()) | set(DEEPSTREAM))


def similar(name: str, extra: list[str] | tuple[str, ...] = (), n: int = 3) -> list[str]:
    """Factory names close to a misspelt one."""
    pool = sorted(set(known_factories()) | set(extra))
    return difflib.get_close_matches(name, pool, n=n, cutoff=0.75)


def factory_of_name(name: str) -> str:
    """gst-launch-1.0 names elements FACTORY + a number: 'videotestsrc0' -> 'videotestsrc'."""
    base = name.rstrip("0123456789")
    return base or name
