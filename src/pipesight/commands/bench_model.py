"""pipesight bench-model: the detection model's own maximum throughput (inputs on the GPU)."""

from __future__ import annotations

import argparse
import json
import sys

from pipesight.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "bench-model", help="the model's own maximum FPS, the way trtexec measures an engine",
        description="Time the lab detector alone with its inputs already on the GPU, with each "
        "backend (PyTorch eager, CUDA graphs, torch.compile; ONNX Runtime and trtexec where "
        "installed), and quote the fastest at the same precision, batch and input size as the "
        "ceiling a pipeline can reach. Also reads trtexec logs (fps = qps x batch).")
    p.add_argument("--model", default="yolo-x", help="lab detector (yolo-x, yolo-m, yolo-tiny)")
    p.add_argument("--batch", type=int, default=8, metavar="N")
    p.add_argument("--size", type=int, default=None, metavar="PX",
                   help="square input size (default: the model's, 640)")
    p.add_argument("--precision", choices=("fp16", "bf16", "fp32"), default="fp16")
    p.add_argument("--backends", default=None, metavar="LIST",
                   help="comma-separated: eager,cudagraph,compile,compile-cudagraph,"
                   "onnxruntime,trtexec (default: all but compile-cudagraph)")
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu")
    p.add_argument("--repeats", type=int, default=7, help="timed repeats (median and spread)")
    p.add_argument("--repeat-seconds", type=float, default=0.5, metavar="S",
                   help="length of each timed repeat")
    p.add_argument("--warmup", type=float, default=2.0, metavar="S")
    p.add_argument("--latency-runs", type=int, default=50, metavar="N",
                   help="single inferences timed for the latency figures (50)")
    p.add_argument("--trtexec-log", action="append", default=[], metavar="FILE",
                   help="a trtexec log to read (repeatable); with --backends none, no GPU needed")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


def run(a: argparse.Namespace) -> int:
    from pipesight.readers.source import resolve
    from pipesight.readers.trtexec_log import read

    logs = [read(resolve(path)) for path in a.trtexec_log]
    if a.batch < 1:
        raise UserError("--batch must be 1 or more")
    if a.repeats < 1 or a.repeat_seconds <= 0 or a.warmup < 0 or a.latency_runs < 1:
        raise UserError("--repeats and --latency-runs must be 1 or more, --repeat-seconds "
                        "positive, --warmup >= 0")
    from pipesight.ceiling.bench import ALL_BACKENDS, DEFAULT_BACKENDS

    if a.backends is None:
        backends = list(DEFAULT_BACKENDS)
    elif a.backends.strip() in ("", "none"):
        backends = []
    else:
        backends = [b.strip() for b in a.backends.split(",") if b.strip()]
        bad = [b for b in backends if b not in ALL_BACKENDS]
        if bad:
            raise UserError(f"unknown backend(s) {', '.join(bad)}; "
                            f"known: {', '.join(ALL_BACKENDS)}")
    report = _measure(a, backends, logs) if backends else _logs_only(logs, a)
    if a.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        _print(report)
    return 0


def _logs_only(logs: list, a: argparse.Namespace):  # type: ignore[no-untyped-def]
    from pipesight.ceiling.bench import BenchReport, result_from_trtexec

    if not logs:
        raise UserError("nothing to do: --backends none and no --trtexec-log")
    first = result_from_trtexec(logs[0])
    report = BenchReport(a.model, first.batch or a.batch, first.input_size or a.size or 0,
                         first.precision or a.precision, logs[0].device or "unknown")
    report.results = [result_from_trtexec(r) for r in logs]
    return report


def _measure(a: argparse.Namespace, backends: list[str], logs: list):  # type: ignore[no-untyped-def]
    try:
        import torch
    except ImportError:
        raise UserError("bench-model needs PyTorch: pip install 'pipesight[lab]' "
                        "(or read a log only: --backends none --trtexec-log FILE)") from None
    from pipesight.ceiling.bench import bench_model
    from pipesight.nets.detector import spec_named

    spec_named(a.model)
    if a.device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError("no CUDA device here (torch.cuda.is_available() is False); "
                        "use --device cpu, or read a log: --backends none --trtexec-log FILE")
    if a.device == "cpu":
        bad = [b for b in backends if b.endswith("cudagraph")]
        if bad:
            raise UserError(f"{', '.join(bad)} need a CUDA device")
    return bench_model(a.model, a.batch, a.size, a.precision, backends, a.device,
                       warmup_s=a.warmup, repeat_s=a.repeat_seconds, repeats=a.repeats,
                       latency_n=a.latency_runs, trtexec_logs=logs,
                       log=None if a.json else lambda m: print(m, file=sys.stderr))


def _print(report) -> None:  # type: ignore[no-untyped-def]
    print(f"model {report.model}, batch {report.batch}, input {report.input_size}x"
          f"{report.input_size}, {report.precision}, on {report.device}")
    print(f"{'backend':<18} {'status':<8} {'FPS median':>11} {'p10..p90':>19} "
          f"{'latency ms (med/p99)':>22}  note")
    for r in report.results:
        if r.fps is not None:
            f = r.fps
            lat = (f"{r.latency_ms.median:8.2f} / {r.latency_ms.p99:8.2f}"
                   if r.latency_ms else "")
            comparable = (r.batch == report.batch and r.input_size == report.input_size
                          and r.precision == report.precision)
            note = r.note if comparable else (f"not comparable (batch {r.batch}, size "
                                              f"{r.input_size}, {r.precision}); {r.note}")
            print(f"{r.backend:<18} {r.status:<8} {f.median:11.1f} "
                  f"{f.p10:9.1f}..{f.p90:<9.1f} {lat:>22}  {note}")
        else:
            print(f"{r.backend:<18} {r.status:<8} {'':>11} {'':>19} {'':>22}  {r.note}")
    c = report.ceiling
    if c is None or c.fps is None:
        print("ceiling: none (no backend ran at this precision, batch and size)")
    else:
        print(f"ceiling: {c.fps.median:.1f} FPS ({c.backend}, batch {report.batch}, "
              f"{report.input_size}px, {report.precision})")
