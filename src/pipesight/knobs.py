"""Element properties that trade CPU for speed or for parallelism: the knobs advice names.

Each entry says which element factories have it (an exact factory name, or a prefix ending in
"_"), its default (what a DOT dump's silence means: dumps record non-default properties
only), which values are worth advising against and what to set instead, and how it acts:

- ``threads``: spreads the element's work over N threads (more cores busy, the same work);
  the stage model predicts it (analyses/predict.py);
- ``setting``: less work per buffer at a cost (a larger file, lower quality); how much less
  cannot be predicted, `pipesight compare` measures it;
- ``skip``: does the work on 1 buffer of every k+1, an accuracy trade-off; predicted;
- ``batch``: the batch a batching element forms or an inference element runs;
- ``sync``, ``qos``: a sink's clock synchronisation and its QoS drops.

Factory names are element types, as GStreamer registers them, not the names users give
elements: advice follows what an element is, never what it is called.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Effect = Literal["threads", "setting", "skip", "batch", "sync", "qos"]


@dataclass(frozen=True)
class Knob:
    factories: tuple[str, ...]
    prop: str
    effect: Effect
    default: Any
    # values that need no advice (already the fast or parallel end), compared as text
    fine: tuple[str, ...]
    to: str  # what to set ("{cores}" stands for the usable cores)
    why: str  # the trade-off, in words


TABLE: tuple[Knob, ...] = (
    Knob(("videoconvert", "videoscale", "videoconvertscale", "compositor"), "n-threads",
         "threads", 1, (), "{cores}",
         "converts or scales each frame in slices on that many threads: more cores busy, the "
         "same work"),
    Knob(("avdec_",), "max-threads", "threads", 0, ("0",), "0",
         "0 lets libav decode on one thread per core (frame threads): more cores busy"),
    Knob(("avenc_",), "threads", "threads", "unknown", ("auto", "0"), "auto",
         "lets libav encode on several threads where the codec supports it"),
    Knob(("x264enc",), "threads", "threads", 0, ("0",), "0", "0 is one thread per core"),
    Knob(("vp8enc", "vp9enc"), "threads", "threads", 0, (), "{cores}",
         "encodes on that many threads (with token partitions or tile columns)"),
    Knob(("openh264enc",), "multi-thread", "threads", 0, (), "{cores}",
         "encodes slices on that many threads"),
    Knob(("x264enc", "x265enc"), "speed-preset", "setting", "medium",
         ("ultrafast", "superfast", "veryfast"), "superfast",
         "a faster preset spends less CPU per frame for a larger file at the same quality"),
    Knob(("vp8enc", "vp9enc"), "cpu-used", "setting", 0, tuple(str(i) for i in range(4, 17)),
         "8", "a higher cpu-used spends less CPU per frame for some quality"),
    Knob(("openh264enc",), "complexity", "setting", "medium", ("low",), "low",
         "lower complexity spends less CPU per frame for some quality"),
    Knob(("opusenc",), "complexity", "setting", 10, ("0", "1", "2", "3", "4", "5"), "5",
         "lower complexity spends less CPU per frame for slightly lower quality"),
    Knob(("lamemp3enc",), "encoding-engine-quality", "setting", "standard", ("fast",), "fast",
         "the fast engine spends less CPU per frame at the same bitrate, slightly lower "
         "quality"),
    Knob(("flacenc",), "quality", "setting", "5", ("0", "1", "2"), "0",
         "a lower level compresses less: faster, a larger file"),
    Knob(("nvv4l2h264enc", "nvv4l2h265enc"), "preset-level", "setting", "UltraFastPreset",
         ("UltraFastPreset", "1", "DisablePreset", "0"), "UltraFastPreset",
         "a faster hardware preset for some quality"),
    Knob(("nvinfer",), "interval", "skip", 0, (), "1",
         "infers on one batch of every interval+1 and skips the rest: objects in skipped "
         "frames keep the last result (a tracker after nvinfer carries them): an accuracy "
         "trade-off, not a free speed-up"),
    Knob(("nvinfer",), "batch-size", "batch", 1, (), "{batch}",
         "infers on the whole batch the muxer forms at once instead of in pieces"),
    Knob(("nvstreammux",), "batch-size", "batch", 1, (), "{sources}",
         "one batch holds a frame of every source"),
    Knob(("nvstreammux",), "batched-push-timeout", "batch", -1, (), "{frame_us}",
         "a batch leaves after this many µs even when not full: about one frame interval "
         "keeps a slow or ended source from holding the others back"),
    Knob(("queue", "queue2", "multiqueue"), "max-size-buffers", "batch", 200, (), "{more}",
         "a deeper queue absorbs bursts (more latency and memory); it cannot make the stage "
         "after it faster on average"),
    Knob(("fakesink", "filesink", "appsink", "autovideosink", "xvimagesink", "ximagesink",
          "glimagesink", "waylandsink", "kmssink", "nveglglessink", "nv3dsink", "fpsdisplaysink"),
         "sync", "sync", True, ("False", "false"), "false",
         "renders every buffer as soon as it arrives instead of at its presentation time: "
         "right for throughput runs, wrong where frames must be shown in real time"),
    Knob(("fakesink", "filesink", "appsink", "autovideosink", "xvimagesink", "ximagesink",
          "glimagesink", "waylandsink", "kmssink", "nveglglessink", "nv3dsink", "fpsdisplaysink"),
         "qos", "qos", True, ("False", "false"), "false",
         "stops asking upstream elements to drop late frames: every frame is processed, and "
         "shown late"),
)


def factory_of(factory: str | None, gtype: str | None) -> str | None:
    """The element's factory name; from its GType name where the input lacks it (GstX264Enc
    gives x264enc; libav's types are their factory names)."""
    if factory:
        return factory
    if gtype:
        return gtype.removeprefix("Gst").lower() if gtype.startswith("Gst") else gtype
    return None


def _matches(k: Knob, factory: str) -> bool:
    return any(factory == f or (f.endswith("_") and factory.startswith(f))
               for f in k.factories)


def knobs_for(factory: str | None, effect: Effect | None = None) -> list[Knob]:
    if not factory:
        return []
    return [k for k in TABLE if _matches(k, factory) and (effect is None or k.effect == effect)]


def current(k: Knob, props: dict[str, Any], complete: bool) -> Any:
    """The property's value: as recorded, else (``complete``: every property was recorded)
    unknown, else (a DOT dump's non-default properties) the default."""
    if k.prop in props:
        return props[k.prop]
    return None if complete else k.default


def as_text(v: Any) -> str:
    return str(v) if not isinstance(v, bool) else ("true" if v else "false")


def thread_count(value: Any, cores: int) -> int | None:
    """The threads a ``threads`` knob's value gives (0 and "auto": one per core)."""
    t = as_text(value).lower()
    if t in ("0", "auto"):
        return max(cores, 1)
    if t == "unknown":  # libav's default: the codec decides, one thread for most
        return 1
    try:
        return max(int(t), 1)
    except ValueError:
        return None


THREAD_PROPS = tuple(sorted({k.prop for k in TABLE if k.effect == "threads"}))
