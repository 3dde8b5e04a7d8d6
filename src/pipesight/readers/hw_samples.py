"""Reads a run directory's hardware samples (RUN/samples/nvml.jsonl, tegrastats.jsonl) and the
DeepStream prints in the command's stdout.log / stderr.log into one ``Samples``.

Sample times are CLOCK_MONOTONIC ns; they become seconds since the run's start
(manifest ``start_monotonic_ns``), or since the first sample where the manifest lacks it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipesight.readers import deepstream, ds_latency, tegrastats
from pipesight.readers.checks import (
    MAX_U32,
    clean_json,
    is_int,
    is_number,
    json_object,
    number_or_nan,
    text,
)
from pipesight.readers.text import clean_line
from pipesight.trace.samples import SECONDS, Samples, Series

NVML = "nvml"
# NVML sample fields: (series name, unit)
NVML_FIELDS = {
    "gpu_util": ("gpu_util", "%"), "mem_util": ("mem_util", "%"),
    "enc_util": ("enc_util", "%"), "dec_util": ("dec_util", "%"),
    "jpg_util": ("jpg_util", "%"), "ofa_util": ("ofa_util", "%"),
    "sm_mhz": ("sm_clock", "MHz"), "mem_mhz": ("mem_clock", "MHz"),
    "video_mhz": ("video_clock", "MHz"), "power_mw": ("power", "mW"),
    "power_limit_mw": ("power_limit", "mW"), "mem_used_mb": ("mem_used", "MB"),
    "temp_c": ("temp", "C"), "clock_reasons": ("clock_reasons", "bits"),
}
PROC_FIELDS = {"sm": "sm_util", "mem": "mem_util", "enc": "enc_util", "dec": "dec_util",
               "jpg": "jpg_util", "ofa": "ofa_util"}
MAX_LOG_BYTES = 256 << 20
MAX_GPUS = 1024


def _jsonl(path: Path) -> tuple[list[dict[str, Any]], int]:
    rows, bad = [], 0
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.strip():
                continue
            d = json_object(line)  # None for a cut last line (a run killed mid-write)
            if d is not None:
                rows.append(d)
            else:
                bad += 1
    return rows, bad


def _sample_ok(r: dict[str, Any]) -> bool:
    """An NVML sample or process row pipesight can place: a clock time, a GPU index."""
    return (is_int(r.get("ts")) and is_int(r.get("gpu", 0), 0, MAX_GPUS)
            and (r.get("t") != "p" or is_int(r.get("pid"), 0, MAX_U32)))


def gpu_label(i: int) -> str:
    return f"GPU {i}"


def _gpu_info(g: dict[str, Any]) -> dict[str, Any]:
    """What the sampler said of a GPU (index, name, engine counts, clock limits): scalars only,
    numbers finite and of a size a GPU has."""
    out: dict[str, Any] = {}
    for k, v in g.items():
        if isinstance(v, str | bool) or v is None or is_number(v, -1e12, 1e12):
            out[str(k)] = v
    if not is_int(out.get("index"), 0, MAX_GPUS):
        out.pop("index", None)
    return out


def read_nvml(path: Path, t0_ns: int | None) -> Samples:
    s = Samples()
    rows, bad = _jsonl(path)
    head = next((r for r in rows if r.get("t") == "header"), {})
    samples = [r for r in rows if r.get("t") == "s" and _sample_ok(r)]
    procs = [r for r in rows if r.get("t") == "p" and _sample_ok(r)]
    bad += sum(1 for r in rows if r.get("t") in ("s", "p") and not _sample_ok(r))
    if bad:
        s.notes.append(f"{path.name}: skipped {bad} unreadable lines")
    if not samples:
        s.notes.append(f"{path.name}: no NVML samples")
        return s
    base = t0_ns if t0_ns is not None else min(r["ts"] for r in samples)
    for g in sorted({int(r.get("gpu", 0)) for r in samples}):
        mine = [r for r in samples if int(r.get("gpu", 0)) == g]
        t = (np.array([r["ts"] for r in mine], np.int64) - base) / 1e9
        for key, (name, unit) in NVML_FIELDS.items():
            if not any(key in r for r in mine):
                continue
            v = np.array([number_or_nan(r.get(key)) for r in mine], np.float64)
            s.add(Series(name, unit, NVML, gpu_label(g), t, v))
        for pid in sorted({int(r["pid"]) for r in procs if int(r.get("gpu", 0)) == g}):
            pr = [r for r in procs if int(r.get("gpu", 0)) == g and int(r["pid"]) == pid]
            pt = (np.array([r["ts"] for r in pr], np.int64) - base) / 1e9
            for key, name in PROC_FIELDS.items():
                if any(key in r for r in pr):
                    v = np.array([number_or_nan(r.get(key)) for r in pr], np.float64)
                    s.add(Series(name, "%", "nvml-process", f"{gpu_label(g)} pid {pid}", pt, v,
                                 meta={"pid": pid, "gpu": g}))
    gpus = head.get("gpus")
    s.meta[NVML] = {"driver": text(head.get("driver")) or None,
                    "nvml_version": text(head.get("nvml_version")) or None,
                    "gpus": [_gpu_info(x) for x in gpus if isinstance(x, dict)]
                    if isinstance(gpus, list) else [],
                    "interval_s": head.get("interval_s") if is_number(head.get("interval_s"),
                                                                      1e-4, 3600) else None,
                    "root_pid": head.get("root_pid") if is_int(head.get("root_pid"), 0,
                                                                MAX_U32) else None}
    unsup = next((r for r in rows if r.get("t") == "unsupported"), None)
    if unsup and isinstance(unsup.get("fields"), dict):
        s.meta[NVML]["unsupported"] = clean_json(unsup["fields"])
    return s


def read_tegrastats(path: Path, t0_ns: int | None) -> Samples:
    rows, bad = _jsonl(path)
    lines = [r for r in rows if r.get("t") == "line" and is_int(r.get("ts"))
             and isinstance(r.get("line"), str)]
    head = next((r for r in rows if r.get("t") == "header"), {})
    if not lines:
        s = Samples(notes=[f"{path.name}: tegrastats printed nothing"])
        end = next((r for r in rows if r.get("t") == "end"), {})
        if isinstance(end.get("note"), str):
            s.notes.append(end["note"])
        return s
    parsed = []
    skipped = 0
    for r in lines:
        ln = tegrastats.parse_line(r["line"])
        if ln is None:
            skipped += 1
            continue
        parsed.append((r["ts"], ln))
    base = t0_ns if t0_ns is not None else parsed[0][0] if parsed else 0
    s = tegrastats.to_samples([((ts - base) / 1e9, ln) for ts, ln in parsed], "seconds",
                              "the run's start", path.name)
    iv = head.get("interval_s")
    s.meta[tegrastats.SOURCE]["interval_s"] = iv if is_number(iv, 1e-4, 3600) else None
    if skipped:
        s.notes.insert(0, f"{path.name}: skipped {skipped} lines that are not tegrastats output")
    if bad:
        s.notes.insert(0, f"{path.name}: skipped {bad} unreadable lines")
    return s


def read_console(run: Path) -> Samples | None:
    """DeepStream PERF/latency prints in what the command printed."""
    out = Samples()
    for name in ("stdout.log", "stderr.log"):
        p = run / name
        if not p.is_file() or p.stat().st_size == 0:
            continue
        with open(p, "rb") as f:
            data = f.read(MAX_LOG_BYTES)
        lines = [clean_line(x) for x in data.decode("utf-8", "replace").splitlines()]
        got = deepstream.read_lines(lines, name)
        if got is not None:
            out.extend(got)
            out.origin = got.origin
    return out if len(out) else None


def _epoch(iso: Any) -> float | None:
    from datetime import datetime

    if not isinstance(iso, str):
        return None
    try:
        return datetime.fromisoformat(iso).timestamp()
    except ValueError:
        return None


def read_run(run: Path, manifest: dict[str, Any]) -> Samples | None:
    """All of a run directory's sampled counters; None where it has none."""
    t0 = manifest.get("start_monotonic_ns")
    t0 = t0 if is_int(t0) else None
    s = Samples(origin="the run's start" if t0 is not None else "the first sample")
    sdir = run / "samples"
    if (sdir / "nvml.jsonl").is_file():
        s.extend(read_nvml(sdir / "nvml.jsonl", t0))
    if (sdir / "tegrastats.jsonl").is_file():
        s.extend(read_tegrastats(sdir / "tegrastats.jsonl", t0))
    ds = read_console(run)
    if ds is not None:
        start_epoch = _epoch(manifest.get("start"))
        lat0 = ds.meta.get(ds_latency.SOURCE, {}).get("origin_epoch_ms")
        for x in ds.series:
            if (x.source == ds_latency.SOURCE and x.clock == SECONDS and lat0 is not None
                    and start_epoch is not None and t0 is not None):
                # latency prints carry gettimeofday ms: place them on the run's axis
                x.t = x.t + (lat0 / 1000.0 - start_epoch)
            else:  # PERF prints carry no time (or local wall time): they keep their own axis
                x.meta["origin"] = ds.origin
        s.series.extend(ds.series)
        for k, v in ds.meta.items():
            s.meta.setdefault(k, {}).update(v)
        s.notes.extend(ds.notes)
    if not len(s) and not s.notes:
        return None
    return s
