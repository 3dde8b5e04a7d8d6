"""Lint of a pipeline graph (a DOT dump's Topology) for known DeepStream performance traps.

Rules key on factory names, on purpose: a trap such as a CPU conversion between two NVMM
elements is a fact about which elements were chosen. Each finding names the element, quotes
the graph, and cites where the advice is documented (lint.common.DOCS)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipesight.findings import Finding, Severity, fact
from pipesight.lint import common as c
from pipesight.readers import deepstream_config
from pipesight.trace import Element, Topology


@dataclass
class Graph:
    topology: Topology
    label: str  # where it came from, for evidence
    directory: Path | None = None  # to find nvinfer config files named by relative paths

    def leaves(self) -> list[Element]:
        return list(self.topology.leaf_elements())

    def of(self, *factories: str) -> list[Element]:
        return [e for e in self.leaves() if c.factory(e) in factories]

    def neighbours(self, e: Element, downstream: bool) -> list[Element]:
        """Nearest elements up or downstream that do work (queues and caps filters skipped)."""
        edges = self.topology.element_edges()
        nxt: dict[int, list[int]] = {}
        for a, b in edges:
            if downstream:
                nxt.setdefault(a, []).append(b)
            else:
                nxt.setdefault(b, []).append(a)
        out, todo, seen = [], list(nxt.get(e.id, [])), {e.id}
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            x = self.topology.elements[i]
            if c.factory(x) in c.PASS_THROUGH:
                todo.extend(nxt.get(i, []))
            else:
                out.append(x)
        return out

    def ev(self, text: str):
        return fact(self.label, text, "dot")


def _finding(code: str, title: str, sev: Severity, e: Element | None, g: Graph, texts: list[str],
             fix: str, detail: str, refs: list[str]) -> Finding:
    return Finding(code=code, title=title, severity=sev, subject=e.name if e else None,
                   evidence=[g.ev(t) for t in texts], fix=fix, detail=detail,
                   references=[c.DOCS[r] for r in refs], element=e.name if e else None,
                   confidence="suspected")


def sources_of(g: Graph) -> list[str]:
    out = []
    for e in g.leaves():
        f = c.factory(e)
        uri = (c.prop_str(e.props.get("uri")) or "").lower()
        if f in c.LIVE_SOURCES or uri.startswith(("rtsp://", "rtmp://", "v4l2://", "udp://",
                                                  "http")):
            out.append("live")
        elif f in c.FILE_SOURCES or uri.startswith("file:"):
            out.append("file")
        elif f in ("videotestsrc", "appsrc") and c.prop_bool(e.props.get("is-live")):
            out.append("live")
    return out


def analyze(g: Graph, benchmark: bool = False, inference_bound: set[str] | None = None
            ) -> list[Finding]:
    out: list[Finding] = []
    kind = c.run_kind(benchmark, sources_of(g))
    has_nvmm = any(c.factory(e) in c.NVMM for e in g.leaves())
    for e in g.of("nvdsosd"):
        mode = c.prop_str(e.props.get("process-mode"))
        if mode is not None and mode.upper() in ("CPU_MODE", "0"):
            out.append(_finding(
                "osd-cpu-mode", f"{e.name} (nvdsosd) draws on the CPU (process-mode={mode})",
                "warning", e, g, [f"{e.name} process-mode={mode}"],
                "Set process-mode=1 (GPU) on dGPU; on Jetson, 2 (VIC) where available.",
                "In CPU mode nvdsosd maps every frame into system memory to draw boxes and text, "
                "which costs a copy per frame and CPU time that grows with the resolution.",
                ["ds-osd"]))
    for e in g.leaves():
        f = c.factory(e)
        if has_nvmm and (f in c.SW_ENCODERS or f.startswith("avenc_")):
            out.append(_finding(
                "software-encoder", f"{e.name} encodes on the CPU ({f}) in a GPU pipeline",
                "warning", e, g, [f"{e.name} ({e.type})"],
                "Use the hardware encoder (nvv4l2h264enc / nvv4l2h265enc) fed with NVMM frames.",
                "A software encoder needs frames in system memory: each frame is copied out of "
                "GPU memory and encoded by the CPU, often the slowest stage of the pipeline.",
                ["ds-encoder"]))
    for e in g.of(*c.CPU_CONVERTERS):
        up = [x for x in g.neighbours(e, False) if c.factory(x) in c.NVMM]
        down = [x for x in g.neighbours(e, True) if c.factory(x) in c.NVMM]
        if up and down:
            out.append(_finding(
                "cpu-convert-between-nvmm",
                f"{e.name} ({c.factory(e)}) converts on the CPU between {up[0].name} and "
                f"{down[0].name}", "warning", e, g,
                [f"{up[0].name} -> {e.name} ({e.type}) -> {down[0].name}"],
                f"Replace {e.name} with nvvideoconvert and keep video/x-raw(memory:NVMM) caps.",
                "The elements on both sides work on GPU (NVMM) memory; a CPU converter between "
                "them forces a copy to system memory and back for every frame.",
                ["ds-nvvideoconvert"]))
    out += _nvmm_missing(g)
    out += _streammux(g, kind)
    out += _nvinfer(g, inference_bound or set())
    out += _throughput(g, kind)
    for e in g.of("queue", "queue2"):
        leaky = c.prop_str(e.props.get("leaky"))
        if leaky and leaky.lower() not in ("no", "0", "gst_queue_no_leak", "none"):
            out.append(_finding(
                "leaky-queue", f"{e.name} is a leaky queue (leaky={leaky}): it drops frames "
                "when downstream is slow", "info", e, g, [f"{e.name} leaky={leaky}"],
                "Keep it where dropping is wanted (live display); remove leaky for analytics "
                "or benchmarks, or watch its drop count.",
                "A leaky queue throws buffers away instead of blocking when it is full, so a "
                "slow element downstream shows up as lost frames, not as lower throughput.",
                ["gst-queue"]))
    return out


def _nvmm_missing(g: Graph) -> list[Finding]:
    out = []
    for e in g.leaves():
        if c.factory(e) not in c.NVMM_ONLY_INPUT:
            continue
        for up in _direct_upstream(g, e):
            if c.factory(up) != "capsfilter":
                continue
            caps = c.prop_str(up.props.get("caps")) or ""
            if caps.startswith("video/x-raw") and "memory:NVMM" not in caps:
                out.append(_finding(
                    "nvmm-missing", f"{up.name} feeds {e.name} with caps lacking memory:NVMM",
                    "warning", up, g, [f"{up.name} caps={caps}", f"{up.name} -> {e.name}"],
                    f"Write the caps as video/x-raw(memory:NVMM),... and convert with "
                    f"nvvideoconvert before {up.name}.",
                    f"{e.name} ({c.factory(e)}) works on frames in GPU (NVMM) memory. Caps "
                    "without the memory:NVMM feature ask for system-memory frames: the link "
                    "fails to negotiate, or frames are copied.", ["ds-nvvideoconvert"]))
    return out


def _direct_upstream(g: Graph, e: Element) -> list[Element]:
    return [g.topology.elements[a] for a, b in g.topology.element_edges() if b == e.id]


def _linked_sink_pads(g: Graph, e: Element) -> int:
    topo = g.topology
    linked = {lk.sink for lk in topo.links}
    return sum(1 for p in topo.element_pads(e.id, "sink") if p.id in linked
               and p.name.startswith("sink_"))


def _streammux(g: Graph, kind: str) -> list[Finding]:
    out = []
    for mux in g.of("nvstreammux"):
        batch = c.prop_int(mux.props.get("batch-size"))
        n = _linked_sink_pads(g, mux)
        if batch is not None and n and batch != n:
            out.append(_finding(
                "streammux-batch-sources",
                f"{mux.name} batch-size={batch} but {n} source(s) are linked to it", "warning",
                mux, g, [f"{mux.name} batch-size={batch}", f"{mux.name}: {n} linked sink pads"],
                f"Set batch-size={n} (the number of sources).",
                "nvstreammux forms batches of batch-size frames; with fewer sources it waits "
                "for batched-push-timeout before pushing incomplete batches, with more it "
                "splits one round of frames over several batches.",
                ["ds-faq-streammux", "ds-batch-forum"]))
        live = kind == "live" or c.prop_bool(mux.props.get("live-source"))
        if kind == "live" and not c.prop_bool(mux.props.get("live-source")):
            out.append(_finding(
                "live-source-unset", f"{mux.name} has live inputs but live-source is not set",
                "warning", mux, g,
                [f"{mux.name} live-source={mux.props.get('live-source', 'FALSE (default)')}"],
                "Set live-source=1 on nvstreammux (deepstream-app: [streammux] live-source=1).",
                "Without it, nvstreammux treats live streams like files and its batching and "
                "timestamps do not follow the sources' real-time arrival.",
                ["ds-troubleshooting"]))
        if live:
            t = c.prop_int(mux.props.get("batched-push-timeout"))
            shown = t if t is not None else -1
            interval = 1_000_000 // 30
            if shown < 0 or shown > 4 * interval:
                out.append(_finding(
                    "batched-push-timeout",
                    f"{mux.name} batched-push-timeout={shown} µs with live sources (one frame at "
                    f"30 fps is {interval} µs)", "warning", mux, g,
                    [f"{mux.name} batched-push-timeout="
                     f"{mux.props.get('batched-push-timeout', '-1 (default)')}"],
                    "Set batched-push-timeout to about one frame interval: 1000000 / the "
                    "highest source fps (33333 for 30 fps).",
                    "When a live source is late, nvstreammux holds the batch until the timeout; "
                    "far above one frame interval (or -1, forever) every late frame stalls all "
                    "streams.", ["ds-faq-streammux", "ds-troubleshooting"]))
    return out


def _infer_config(g: Graph, e: Element) -> deepstream_config.KeyFile | None:
    path = c.prop_str(e.props.get("config-file-path"))
    if not path:
        return None
    p = Path(path)
    for cand in ([p] if p.is_absolute() else [*(
            [g.directory / p] if g.directory else []), Path.cwd() / p]):
        if cand.is_file():
            try:
                return deepstream_config.read(cand).infer[0].keyfile
            except Exception:  # an unreadable config only loses this rule's evidence
                return None
    return None


def _nvinfer(g: Graph, inference_bound: set[str]) -> list[Finding]:
    out = []
    muxes = g.of("nvstreammux")
    mux_batch = c.prop_int(muxes[0].props.get("batch-size")) if muxes else None
    for e in g.of("nvinfer"):
        pm = (c.prop_str(e.props.get("process-mode")) or "").upper()
        secondary = pm in ("2", "SECONDARY", "PROCESS_MODE_CLIP_OBJECTS")
        kf = _infer_config(g, e)
        engine = c.prop_str(e.props.get("model-engine-file"))
        eb, eprec = c.engine_batch_and_precision(engine)
        batch = c.prop_int(e.props.get("batch-size"))
        basis = f"{e.name} batch-size={batch}" if batch is not None else None
        if batch is None and kf is not None and kf.get("property", "batch-size"):
            ent = kf.get("property", "batch-size")
            batch = int(ent.number() or 0) or None  # type: ignore[union-attr]
            basis = f"{kf.where(ent)}: {ent.raw.strip()}"  # type: ignore[arg-type]
        if batch is None and eb is not None:
            batch, basis = eb, f"{e.name} model-engine-file={engine} (built for batch {eb})"
        if not secondary and mux_batch is not None and batch is not None and batch != mux_batch:
            out.append(_finding(
                "streammux-infer-batch",
                f"{muxes[0].name} batches {mux_batch} frame(s) but {e.name} infers {batch} at a "
                "time", "warning", e, g, [f"{muxes[0].name} batch-size={mux_batch}", basis or ""],
                f"Use the same batch-size on nvstreammux and the primary nvinfer ({mux_batch} "
                "if it is the number of sources), and an engine built for it.",
                "The primary nvinfer runs one inference per batch of frames; a batch-size other "
                "than the muxer's leaves the engine under-filled or makes nvinfer rebuild/"
                "reject the engine.", ["ds-faq-streammux", "ds-nvinfer"]))
        prec = None
        ptext = ""
        if kf is not None and kf.get("property", "network-mode") is not None:
            ent = kf.get("property", "network-mode")
            prec = {0: "fp32", 1: "int8", 2: "fp16"}.get(int(ent.number() or -1))  # type: ignore[union-attr]
            ptext = f"{kf.where(ent)}: {ent.raw.strip()}"  # type: ignore[union-attr,arg-type]
        elif eprec is not None:
            prec, ptext = eprec, f"{e.name} model-engine-file={engine}"
        if prec == "fp32":
            bound = e.name in inference_bound
            out.append(_finding(
                "nvinfer-fp32", f"{e.name} runs its network in FP32", "warning" if bound else
                "info", e, g, [ptext],
                "Build the engine in FP16 (network-mode=2) or INT8 with a calibration file "
                "(network-mode=1), after checking the accuracy.",
                "TensorRT runs FP16 and INT8 far faster than FP32 on GPUs with tensor cores. "
                + ("Inference is the limit of this run, so this matters." if bound else
                   "This matters only when inference limits the pipeline; profile to see."),
                ["ds-nvinfer"]))
    return out


def _sink_sync(e: Element) -> bool | None:
    v = c.prop_bool(e.props.get("sync"))
    if v is not None:
        return v
    f = c.factory(e)
    if f in c.SYNC_DEFAULT_TRUE:
        return True
    if f in c.SYNC_DEFAULT_FALSE:
        return False
    return None


def _final_sinks(g: Graph) -> list[Element]:
    out = []
    for e in g.leaves():
        f = c.factory(e)
        if (e.type or "").lower().endswith("sink") or f.endswith("sink"):
            # a sink inside a sink bin (autovideosink's child) counts once, as the bin
            out.append(e)
    return out


def _throughput(g: Graph, kind: str) -> list[Finding]:
    if kind not in ("benchmark", "files"):
        return []
    sev: Severity = "warning" if kind == "benchmark" else "info"
    why = ("this is a throughput run" if kind == "benchmark" else
           "all inputs are files, so this looks like a throughput run")
    out = []
    for e in _final_sinks(g):
        if _sink_sync(e):
            shown = e.props.get("sync", "TRUE (default)")
            out.append(_finding(
                "sink-sync-throughput", f"{e.name} syncs to the clock (sync={shown}) and {why}",
                sev, e, g, [f"{e.name} sync={shown}"],
                "Set sync=false on the final sink (deepstream-app: [sinkN] sync=0) to measure "
                "throughput.", "A sink that syncs shows each frame at its timestamp: the "
                "pipeline then runs at the stream's frame rate, not as fast as it can.",
                ["ds-troubleshooting", "gst-basesink"]))
        if c.factory(e) in c.DISPLAY_SINKS:
            out.append(_finding(
                "display-sink-throughput", f"{e.name} renders to a display and {why}", sev, e, g,
                [f"{e.name} ({e.type})"],
                "Use fakesink (deepstream-app: [sinkN] type=1) for throughput measurements.",
                "Rendering costs GPU time and ties the pipeline to the display's refresh.",
                ["ds-troubleshooting", "ds-bootcamp-osd-tiler"]))
    for e in g.of("nvmultistreamtiler", "nvdsosd"):
        out.append(_finding(
            "tiler-osd-benchmark", f"{e.name} ({c.factory(e)}) is in the pipeline and {why}",
            sev, e, g, [f"{e.name} ({e.type})"],
            "Leave the tiler and OSD out of throughput benchmarks ([tiled-display] enable=0, "
            "[osd] enable=0).", "Tiling composes every frame into one picture and the OSD draws "
            "on it: work a benchmark of inference throughput does not need.",
            ["ds-bootcamp-osd-tiler"]))
    return out
