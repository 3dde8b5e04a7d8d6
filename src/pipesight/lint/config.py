"""Lint of a deepstream-app configuration and the Gst-nvinfer configs it names, for the same
performance traps as the graph lint (lint.graph), quoting the config lines."""

from __future__ import annotations

import re

from pipesight.findings import Finding, Severity, fact
from pipesight.lint import common as c
from pipesight.readers.deepstream_config import DsAppConfig, Entry, InferConfig, KeyFile

# deepstream-app's [sourceN] type: 1 V4L2 camera, 2 URI, 3 multi-URI, 4 RTSP, 5 CSI camera
LIVE_SOURCE_TYPES = {1, 4, 5}
# [sinkN] type: 1 fakesink, 2 EGL display, 3 file, 4 RTSP streaming, 5 overlay (Jetson)
DISPLAY_SINK_TYPES = {2, 5}
ENCODING_SINK_TYPES = {3, 4}


def _ev(kf: KeyFile, e: Entry | None, group: str, key: str, default: str | None = None):
    if e is not None:
        return fact(kf.where(e), f"[{group}] {e.raw.strip()}", "ds-config")
    return fact(kf.path.name, f"[{group}] {key} not set" + (f" (default {default})" if default
                                                             else ""), "ds-config")


def _f(code: str, title: str, sev: Severity, subject: str, ev: list, fix: str, detail: str,
       refs: list[str]) -> Finding:
    return Finding(code=code, title=title, severity=sev, subject=subject, evidence=ev, fix=fix,
                   detail=detail, references=[c.DOCS[r] for r in refs], confidence="suspected")


def sources(kf: KeyFile) -> list[tuple[str, str, int]]:
    """(group, 'live'|'file'|'unknown', number of streams) of each enabled [sourceN]."""
    out = []
    for g in sorted(kf.groups):
        if not re.fullmatch(r"source\d+", g) or not kf.enabled(g):
            continue
        t = kf.get(g, "type")
        typ = int(t.number() or 0) if t else 0
        uri = (kf.get(g, "uri").value if kf.get(g, "uri") else "").lower()  # type: ignore[union-attr]
        n = kf.get(g, "num-sources")
        count = int(n.number() or 1) if (n is not None and typ == 3) else 1
        if typ in LIVE_SOURCE_TYPES or uri.startswith(("rtsp://", "rtmp://", "v4l2://", "http")):
            kind = "live"
        elif uri.startswith("file:"):
            kind = "file"
        else:
            kind = "unknown"
        out.append((g, kind, count))
    if "source-list" in kf.groups:
        lst = kf.get("source-list", "list")
        for u in (lst.value.split(";") if lst else []):
            if u.strip():
                out.append(("source-list", "live" if u.strip().lower().startswith(("rtsp", "http"))
                            else "file", 1))
    return out


def analyze(cfg: DsAppConfig, benchmark: bool = False, inference_bound: bool = False
            ) -> list[Finding]:
    out: list[Finding] = []
    for ic in cfg.infer:
        out += _infer(cfg, ic, inference_bound)
    kf = cfg.app
    if kf is None:
        return out
    srcs = sources(kf)
    kind = c.run_kind(benchmark, [k for _, k, _ in srcs])
    mux_b = kf.get("streammux", "batch-size")
    mux_batch = int(mux_b.number() or 0) if mux_b else None
    out += _streammux(kf, srcs, mux_b, mux_batch)
    if any(k == "live" for _, k, _ in srcs):
        out += _live(kf, srcs)
    out += _osd(kf) + _sinks(kf, kind) + _throughput_run(kf, kind)
    out += _infer_batch(cfg, kf, mux_b, mux_batch) + _unreadable(cfg, kf)
    return out


def _streammux(kf: KeyFile, srcs: list[tuple[str, str, int]], mux_b: Entry | None,
               mux_batch: int | None) -> list[Finding]:
    out: list[Finding] = []
    n_streams = sum(n for _, _, n in srcs)
    if mux_batch and n_streams and mux_batch != n_streams:
        out.append(_f(
            "streammux-batch-sources",
            f"[streammux] batch-size={mux_batch} but {n_streams} source stream(s) are enabled",
            "warning", "streammux",
            [_ev(kf, mux_b, "streammux", "batch-size"), *[
                fact(kf.path.name, f"[{g}] enabled, {kind} input, {n} stream(s)", "ds-config")
                for g, kind, n in srcs]],
            f"Set [streammux] batch-size={n_streams}.",
            "nvstreammux forms batches of batch-size frames; other than the number of sources, "
            "batches wait for the push timeout or split one round of frames.",
            ["ds-faq-streammux", "ds-batch-forum"]))
    return out


def _live(kf: KeyFile, srcs: list[tuple[str, str, int]]) -> list[Finding]:
    out: list[Finding] = []
    ls = kf.get("streammux", "live-source")
    if ls is None or ls.flag() is not True:
        out.append(_f(
            "live-source-unset", "Live inputs, but [streammux] live-source is not 1",
            "warning", "streammux", [_ev(kf, ls, "streammux", "live-source", "0"), *[
                fact(kf.path.name, f"[{g}] is a live input", "ds-config")
                for g, k, _ in srcs if k == "live"][:3]],
            "Set [streammux] live-source=1.",
            "Without it nvstreammux treats live streams like files; batching and timestamps "
            "do not follow the sources' real-time arrival.", ["ds-troubleshooting"]))
    t = kf.get("streammux", "batched-push-timeout")
    tv = int(t.number()) if t is not None and t.number() is not None else -1
    fps = _max_fps(kf)
    interval = int(1_000_000 / fps)
    if tv < 0 or tv > 4 * interval:
        out.append(_f(
            "batched-push-timeout",
            f"[streammux] batched-push-timeout={tv} µs with live sources (one frame is "
            f"{interval} µs at {fps:g} fps)", "warning", "streammux",
            [_ev(kf, t, "streammux", "batched-push-timeout", "-1")],
            f"Set batched-push-timeout={interval} (1000000 / the highest source fps).",
            "With live sources a late frame holds the whole batch until this timeout; far "
            "above one frame interval every late frame stalls all streams.",
            ["ds-faq-streammux", "ds-troubleshooting"]))
    return out


def _osd(kf: KeyFile) -> list[Finding]:
    out: list[Finding] = []
    osd = "osd"
    if kf.enabled(osd):
        pm = kf.get(osd, "process-mode")
        if pm is not None and pm.number() == 0:
            out.append(_f(
                "osd-cpu-mode", "[osd] process-mode=0 draws boxes and text on the CPU", "warning",
                "osd", [_ev(kf, pm, osd, "process-mode")],
                "Set [osd] process-mode=1 (GPU).",
                "In CPU mode every frame is mapped to system memory for drawing.", ["ds-osd",
                                                                                   "ds-app"]))
    return out


def _sinks(kf: KeyFile, kind: str) -> list[Finding]:
    out: list[Finding] = []
    for g in sorted(kf.groups):
        if not re.fullmatch(r"sink\d+", g) or not kf.enabled(g):
            continue
        st = kf.get(g, "type")
        typ = int(st.number() or 0) if st else 0
        enc = kf.get(g, "enc-type")
        if typ in ENCODING_SINK_TYPES and enc is not None and enc.number() == 1:
            out.append(_f(
                "software-encoder", f"[{g}] encodes on the CPU (enc-type=1)", "warning", g,
                [_ev(kf, enc, g, "enc-type"), _ev(kf, st, g, "type")],
                f"Set [{g}] enc-type=0 (hardware encoder) where the GPU has NVENC.",
                "The software encoder copies every frame to system memory and encodes it on "
                "the CPU.", ["ds-app", "ds-encoder"]))
        if kind in ("benchmark", "files"):
            sev: Severity = "warning" if kind == "benchmark" else "info"
            sync = kf.get(g, "sync")
            if sync is not None and sync.flag():
                out.append(_f(
                    "sink-sync-throughput", f"[{g}] sync=1 paces the pipeline to real time",
                    sev, g, [_ev(kf, sync, g, "sync")], f"Set [{g}] sync=0 for throughput runs.",
                    "A syncing sink shows each frame at its timestamp: the pipeline runs at the "
                    "stream's frame rate, not as fast as it can.", ["ds-troubleshooting"]))
            if typ in DISPLAY_SINK_TYPES:
                out.append(_f(
                    "display-sink-throughput", f"[{g}] renders to a display (type={typ})", sev, g,
                    [_ev(kf, st, g, "type")], f"Set [{g}] type=1 (fakesink) for throughput runs.",
                    "Rendering costs GPU time and ties the pipeline to the display.",
                    ["ds-troubleshooting", "ds-bootcamp-osd-tiler"]))
    return out


def _throughput_run(kf: KeyFile, kind: str) -> list[Finding]:
    out: list[Finding] = []
    if kind in ("benchmark", "files"):
        sev = "warning" if kind == "benchmark" else "info"
        for g in ("tiled-display", "osd"):
            if kf.enabled(g):
                en = kf.get(g, "enable")
                out.append(_f(
                    "tiler-osd-benchmark", f"[{g}] is enabled in a throughput run", sev, g,
                    [_ev(kf, en, g, "enable", "1")], f"Set [{g}] enable=0 for benchmarks.",
                    "Tiling and drawing are work an inference-throughput benchmark does not need.",
                    ["ds-bootcamp-osd-tiler"]))
    return out


def _infer_batch(cfg: DsAppConfig, kf: KeyFile, mux_b: Entry | None,
                 mux_batch: int | None) -> list[Finding]:
    out: list[Finding] = []
    pg = kf.get("primary-gie", "batch-size")
    infer_batch, basis = None, None
    prim = next((ic for ic in cfg.infer if ic.group == "primary-gie"), None)
    if pg is not None:
        infer_batch, basis = int(pg.number() or 0), _ev(kf, pg, "primary-gie", "batch-size")
    elif prim is not None and prim.keyfile is not None:
        e = prim.keyfile.get("property", "batch-size")
        if e is not None:
            infer_batch, basis = int(e.number() or 0), _ev(prim.keyfile, e, "property",
                                                           "batch-size")
    if mux_batch and infer_batch and infer_batch != mux_batch and basis is not None:
        out.append(_f(
            "streammux-infer-batch",
            f"[streammux] batch-size={mux_batch} but the primary nvinfer batch-size is "
            f"{infer_batch}", "warning", "primary-gie",
            [_ev(kf, mux_b, "streammux", "batch-size"), basis],
            f"Use batch-size={mux_batch} for the primary GIE too (and an engine built for it).",
            "The primary nvinfer infers one muxer batch at a time. (A secondary GIE's "
            "batch-size counts objects, not frames, and is not compared.)",
            ["ds-faq-streammux", "ds-nvinfer"]))
    return out


def _unreadable(cfg: DsAppConfig, kf: KeyFile) -> list[Finding]:
    out: list[Finding] = []
    for ic in cfg.infer:
        if ic.error:
            out.append(_f("infer-config-unreadable", f"[{ic.group}] config-file cannot be read",
                          "warning", ic.group, [fact(kf.path.name, ic.error, "ds-config")],
                          "Fix the path (it is relative to the deepstream-app config).",
                          "Its settings could not be checked.", ["ds-app"]))
    return out


def _max_fps(kf: KeyFile) -> float:
    best = 0.0
    for g in kf.groups:
        if re.fullmatch(r"source\d+", g):
            n, d = kf.get(g, "camera-fps-n"), kf.get(g, "camera-fps-d")
            if n is not None and (n.number() or 0) > 0:
                best = max(best, (n.number() or 0) / ((d.number() if d else 1) or 1))
    return best or 30.0


def _infer(cfg: DsAppConfig, ic: InferConfig, inference_bound: bool) -> list[Finding]:
    kf = ic.keyfile
    if kf is None:
        return []
    nm = kf.get("property", "network-mode")
    if nm is not None and nm.number() not in (0, None):
        return []
    eng = kf.get("property", "model-engine-file")
    if nm is None and eng is not None:
        _, prec = c.engine_batch_and_precision(eng.value)
        if prec not in (None, "fp32"):
            return []
    ev = [_ev(kf, nm, "property", "network-mode", "0 = FP32")]
    return [_f(
        "nvinfer-fp32", f"{ic.path.name} ({ic.group}) runs its network in FP32",
        "warning" if inference_bound else "info", ic.group, ev,
        "Set network-mode=2 (FP16), or 1 (INT8) with an int8-calib-file, after checking "
        "accuracy; delete the old engine file so it is rebuilt.",
        "network-mode 0 is FP32, nvinfer's default; FP16 and INT8 run much faster on GPUs with "
        "tensor cores. " + ("Inference is the limit of this run." if inference_bound else
                            "This matters only when inference limits the pipeline."),
        ["ds-nvinfer"])]
