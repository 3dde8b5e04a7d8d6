"""Valid inputs of every kind pipesight reads, for bench/fuzz_campaign.py to damage: made here
by real pipelines (a stats/latency tracer log, run directories of gst-launch-1.0 and of a
PyGObject app with pad probes, a doctor run of a failing pipeline) and taken from the corpus
and the test fixtures (tegrastats, DeepStream prints and configs, DOT dumps, Nsight Systems
exports, trtexec logs, NVML samples)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"
CORPUS = REPO.parent / "shared" / "corpus"
PIPESIGHT = [sys.executable, "-m", "pipesight"]

# family -> how its inputs are given to pipesight
FAMILIES = ["tracer-log", "tegrastats", "deepstream", "nsys", "ds-config", "dot", "gst-debug",
            "ceiling", "run"]


def _profile(out: Path, *cmd: str, duration: str = "1.5", doctor: bool = False) -> None:
    if out.exists():
        return
    sub = ["doctor", "--json", "-o", str(out)] if doctor else ["profile", "--json", "-o",
                                                                 str(out), "--duration", duration]
    subprocess.run([*PIPESIGHT, *sub, "--", *cmd], capture_output=True, timeout=300)
    if not (out / "manifest.json").exists():
        raise SystemExit(f"could not make the seed {out}")


def _stats_log(out: Path) -> None:
    if out.exists():
        return
    env = {**os.environ, "GST_TRACERS": "stats;latency(flags=pipeline+element)",
           "GST_DEBUG": "GST_TRACER:7", "GST_DEBUG_NO_COLOR": "1", "GST_DEBUG_FILE": str(out)}
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=120", "!",
                    "video/x-raw,width=160,height=120", "!", "tee", "name=t", "t.", "!", "queue",
                    "!", "jpegenc", "!", "fakesink", "t.", "!", "queue", "!", "fakesink"],
                   env=env, check=True, timeout=120)


def _enrich(run: Path, tegra_lines: list[str], perf: Path) -> None:
    """A run directory with every sampler's file: NVML samples, tegrastats lines and DeepStream
    prints in the command's output, as a Jetson or dGPU run has them."""
    m = json.loads((run / "manifest.json").read_text())
    t0 = int(m["start_monotonic_ns"])
    shutil.copy(FIXTURES / "nvml" / "nvdec_decode.jsonl", run / "samples" / "nvml.jsonl")
    with open(run / "samples" / "tegrastats.jsonl", "w") as f:
        f.write(json.dumps({"t": "header", "sampler": "tegrastats", "interval_s": 0.1}) + "\n")
        for i, line in enumerate(tegra_lines[:40]):
            f.write(json.dumps({"t": "line", "ts": t0 + i * 100_000_000, "line": line}) + "\n")
    with open(run / "stdout.log", "a") as f:
        f.write(perf.read_text(errors="replace")[:20000])


def make(seeds: Path) -> dict[str, list[Path]]:
    """Every seed, by family (made once, kept in ``seeds``)."""
    seeds.mkdir(parents=True, exist_ok=True)
    out: dict[str, list[Path]] = {f: [] for f in FAMILIES}
    stats = seeds / "stats.log"
    _stats_log(stats)
    out["tracer-log"] = [stats, CORPUS / "gst" / "podborski_latency_traces.log"]
    ds = CORPUS / "deepstream"
    out["tegrastats"] = sorted(ds.glob("tegrastats_*"))
    out["deepstream"] = sorted(ds.glob("perf_*")) + sorted(ds.glob("latency_*"))
    nsys = FIXTURES / "nsys"
    out["nsys"] = [nsys / "sync-copies.sqlite", nsys / "post-starve.sqlite",
                   CORPUS / "nsys" / "nsys-2026.1_rtx3080_torch-zeros_full.sqlite"]
    cfg = seeds / "ds"
    if not cfg.exists():
        shutil.copytree(FIXTURES / "ds", cfg)
    out["ds-config"] = [cfg / "app_good.txt", cfg / "app_bad.txt", cfg / "pgie_fp16_b2.txt"]
    out["dot"] = sorted((CORPUS / "gst").glob("*.dot"))
    out["gst-debug"] = [ds / "gstdebug_dsl_error_not_linked.log"]
    out["ceiling"] = sorted((FIXTURES / "gpu").glob("trtexec_*.log"))
    bench = seeds / "bench-model.json"
    bench.write_text(json.dumps({"model": "yolo-x", "batch": 8, "precision": "fp16",
                                 "input_size": 640, "ceiling": {"fps": 1113.8,
                                                                "backend": "compile+graphs"}}))
    out["ceiling"].append(bench)
    runs = seeds / "runs"
    runs.mkdir(exist_ok=True)
    _profile(runs / "jpeg", "gst-launch-1.0", "videotestsrc", "!",
             "video/x-raw,width=160,height=120", "!", "queue", "!", "jpegenc", "!", "fakesink")
    _profile(runs / "tee", "gst-launch-1.0", "videotestsrc", "!",
             "video/x-raw,width=160,height=120", "!", "tee", "name=t", "t.", "!", "queue", "!",
             "videoconvert", "!", "fakesink", "t.", "!", "queue", "!", "fakesink")
    _profile(runs / "probes", sys.executable, str(REPO / "tests" / "apps" / "probe_app.py"),
             str(runs / "probe_out.json"), duration="8")
    _profile(runs / "doctor", "gst-launch-1.0", "videotestsrc", "!", "nosuchelement", "!",
             "fakesink", doctor=True)
    rich = runs / "rich"
    if not rich.exists():
        shutil.copytree(runs / "jpeg", rich)
        tegra = (ds / "tegrastats_orin_nano_gpu_burn_tegra_burn.log").read_text().splitlines()
        _enrich(rich, tegra, ds / "perf_deepstream-yolo_issue134_1080ti_yolov5m_int8_vs_fp32.txt")
    out["run"] = [runs / n for n in ("jpeg", "tee", "probes", "doctor", "rich")]
    out["gst-debug"] += [runs / "doctor" / "gst.log", runs / "doctor" / "stdout.log"]
    out["dot"] += sorted((runs / "tee" / "dot").glob("*.dot"))[:2]
    missing = [str(p) for ps in out.values() for p in ps if not p.exists()]
    if missing:
        raise SystemExit(f"missing seeds: {missing}")
    return out
