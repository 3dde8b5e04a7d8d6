"""pipesight lab list | lab run NAME | lab gpu: pipelines with known, planted bottlenecks, and
the DeepStream-shaped GPU pipeline."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.markup import escape
from rich.table import Table

from pipesight.errors import UserError
from pipesight.lab import runner
from pipesight.lab.gpu.config import ENGINES
from pipesight.lab.gpu.gst_media import DECODERS
from pipesight.lab.scenarios import SCENARIOS, by_name, ground_truth
from pipesight.render import safe_text
from pipesight.workflows.outputs import emit


def register(sub: argparse._SubParsersAction) -> None:
    lb = sub.add_parser("lab", help="pipelines with known, planted bottlenecks")
    lsub = lb.add_subparsers(dest="lab_cmd", metavar="ACTION")
    lsub.add_parser("list", help="list the scenarios")
    lr = lsub.add_parser("run", help="profile one scenario and check the verdict")
    lr.add_argument("name")
    lr.add_argument("--renamed", action="store_true", help="rename every element first")
    lr.add_argument("--fixed", action="store_true", help="run the scenario's fixed variant")
    lr.add_argument("--variant", metavar="FIX", help="run the variant that applies the "
                    "verdict's fix FIX (e.g. queue-before; `lab list` shows them)")
    lr.add_argument("-o", "--output", metavar="RUN_DIR")
    lr.add_argument("--duration", type=float, default=None, metavar="S")
    lr.add_argument("--json", action="store_true")
    lg = lsub.add_parser("gpu", help="the DeepStream-shaped GPU pipeline, naive or tuned")
    _gpu_arguments(lg)
    lb.set_defaults(func=run, _lab_parser=lb)


def run(a: argparse.Namespace) -> int:
    if not a.lab_cmd:
        a._lab_parser.print_help()
        return 2
    if a.lab_cmd == "gpu":
        return _gpu(a)
    return _scenario(a)


def _scenario(a: argparse.Namespace) -> int:
    if a.lab_cmd == "list":
        return _list()
    s = by_name(a.name)
    if s is None:
        raise UserError(f"no lab scenario {a.name!r}; `pipesight lab list` shows them")
    res = runner.run(s, Path(a.output) if a.output else None, renamed=a.renamed, fixed=a.fixed,
                     duration_s=a.duration, variant=a.variant)
    emit(res.verdict, None, as_json=a.json)
    if not a.json:
        print(f"Run directory: {res.run_dir}")
        mark = "as planted" if res.ok else "NOT as planted"
        print(f"lab {s.name}: {mark} — {res.why}", file=sys.stderr)
    return 0 if res.ok else 1


def _list() -> int:
    gt = ground_truth()
    t = Table(box=None, header_style="bold")
    for col in ("scenario", "planted bottleneck", "expected verdict", "ground truth"):
        t.add_column(col)
    for s in SCENARIOS:
        g = gt.get(s.name, {})
        truth = (f"{g['fps']:.0f} → {g['fixed_fps']:.0f} fps fixed (x{g['ratio']:.1f})"
                 if g else "not measured")
        names = runner.default_names(s)
        culprit = (s.expect_element.format(**names) if s.expect_element and "{" in
                   s.expect_element else names.get(s.expect_element or ""))
        exp = s.expect_kind + (f" {culprit}" if s.expect_element else
                               f" ({s.expect_factory})" if s.expect_factory else "")
        if s.variants:
            truth += "; variants: " + ", ".join(v.action for v in s.variants)
        t.add_row(escape(s.name), escape(s.planted), escape(exp), escape(truth))
    safe_text.console().print(t)
    return 0


def _gpu_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--mode", choices=("naive", "tuned"), default="tuned")
    p.add_argument("--engine", choices=ENGINES, default="threads",
                   help="threads: stages as Python threads and queues (default); gst: a real "
                   "GStreamer pipeline (NVDEC or CPU decoding, the lab's Python elements for "
                   "batching, inference and post-processing), for pipesight's tracer")
    p.add_argument("--decoder", choices=tuple(DECODERS), default=None,
                   help="gst engine: the H.264 decoder element (default: nvh264dec where "
                   "GStreamer has it, else avdec_h264)")
    p.add_argument("--nvtx", action="store_true",
                   help="gst engine: NVTX ranges named after the elements (off by default, so "
                   "the profile shows what pipesight finds without them; the threads engine "
                   "always has its ranges)")
    p.add_argument("--streams", type=int, default=8, metavar="N", help="input streams (8)")
    p.add_argument("--batch", type=int, default=None, metavar="B",
                   help="frames per batch, a multiple of --streams (default: one per stream)")
    p.add_argument("--duration", type=float, default=10.0, metavar="S",
                   help="measured seconds, after --warmup (10)")
    p.add_argument("--warmup", type=float, default=3.0, metavar="S",
                   help="seconds run before measuring (3)")
    p.add_argument("--model", default="yolo-x", help="detector (yolo-x, yolo-m, yolo-tiny)")
    p.add_argument("--backend", default="cudagraph",
                   choices=("eager", "cudagraph", "compile", "compile-cudagraph"))
    p.add_argument("--precision", choices=("fp16", "bf16", "fp32"), default="fp16")
    p.add_argument("--source", choices=("nvdec", "nvdec-sync", "gst", "synthetic"),
                   default=None,
                   help="threads engine (default nvdec): nvdec: the H.264 clips on NVDEC "
                   "(PyNvVideoCodec's ThreadedDecoder); "
                   "nvdec-sync: NVDEC driven packet by packet from Python; gst: decoded on the "
                   "CPU by GStreamer; synthetic: frames made on the GPU (no decode)")
    p.add_argument("--device", default="cuda")
    p.add_argument("--frame-size", default=None, metavar="WxH",
                   help="threads engine: scale decoded frames (gst/synthetic sources only)")
    p.add_argument("--output-size", default="1280x720", metavar="WxH",
                   help="tiled picture size (1280x720)")
    p.add_argument("--batches", type=int, default=None, metavar="K",
                   help="stop after K batches instead of a duration")
    p.add_argument("--cuda-profiler-window", action="store_true",
                   help="call cudaProfilerStart/Stop around the measured window, for "
                   "nsys profile --capture-range=cudaProfilerApi")
    p.add_argument("--queue-size", type=int, default=2, metavar="N",
                   help="buffers each queue between the stages holds (2)")
    p.add_argument("--upload", choices=("pinned", "pageable"), default="pinned",
                   help="gst engine on CUDA: decoded frames go to the device through pinned "
                   "memory (asynchronous) or straight from the decoder's pageable memory")
    p.add_argument("--json", action="store_true", help="print the result as JSON")


def _size(text: str | None, flag: str) -> tuple[int, int] | tuple[None, None]:
    if text is None:
        return None, None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UserError(f"{flag} must be WIDTHxHEIGHT, e.g. 1280x720") from None
    if w < 2 or h < 2 or w % 2 or h % 2:
        raise UserError(f"{flag} must be even and at least 2x2")
    return w, h


def _gpu(a: argparse.Namespace) -> int:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise UserError("the GPU lab needs PyTorch: pip install 'pipesight[lab]'") from None
    from pipesight.lab.gpu.config import LabConfig
    from pipesight.lab.gpu.pipeline import run_lab

    fw, fh = _size(a.frame_size, "--frame-size")
    ow, oh = _size(a.output_size, "--output-size")
    if a.duration <= 0 or a.warmup < 0:
        raise UserError("--duration must be positive and --warmup 0 or more")
    if a.batches is not None and a.batches < 1:
        raise UserError("--batches must be 1 or more")
    gst = a.engine == "gst"
    if gst:
        if a.source is not None:
            raise UserError("--source is for the threads engine; --engine gst decodes with "
                            "--decoder")
        from pipesight.lab.gpu.gst_media import require_gst

        require_gst()
    else:
        if a.decoder is not None:
            raise UserError("--decoder is for --engine gst; the threads engine takes --source")
        a.source = a.source or "nvdec"
    if not gst and a.source.startswith("nvdec"):
        try:
            import PyNvVideoCodec  # noqa: F401
        except Exception as e:
            raise UserError(f"--source nvdec needs PyNvVideoCodec ({type(e).__name__}: "
                            f"{str(e).splitlines()[0] if str(e) else ''}); "
                            "use --source synthetic (no decode) or gst (CPU decode)") from None
    cfg = LabConfig(mode=a.mode, streams=a.streams, batch=a.batch, duration=a.duration,
                    warmup=a.warmup, model=a.model, backend=a.backend, precision=a.precision,
                    source=a.source or "gst", device=a.device, frame_width=fw, frame_height=fh,
                    out_width=ow or 1280, out_height=oh or 720, max_batches=a.batches,
                    profiler_window=a.cuda_profiler_window, engine=a.engine,
                    decoder=a.decoder, nvtx=a.nvtx if gst else True,
                    queue_size=a.queue_size, upload=a.upload)
    if a.queue_size < 1:
        raise UserError("--queue-size must be 1 or more")
    res = run_lab(cfg)
    if a.json:
        print(json.dumps(res.to_dict(), indent=2))
        return 0
    b = res.boxes_per_frame
    boxes = (f"; boxes/frame {b['mean']:.1f} ({b['min']:.0f}..{b['max']:.0f})" if b else "")
    fps = f"{res.fps:.1f} FPS over {res.window_s:.1f} s" if res.fps else "no FPS (no window)"
    engine = " (GStreamer)" if gst else ""
    print(f"lab gpu {res.mode}{engine}: {res.streams} streams, batch {res.batch}, {res.model} "
          f"{res.backend} {res.precision} {res.input_size}x{res.input_size}, source "
          f"{res.source}: {fps}, counting frames ({res.frames} frames in {res.batches} "
          f"batches, {res.pictures} tiled pictures){boxes}")
    for n in res.notes:
        print(f"note: {n}", file=sys.stderr)
    return 0
