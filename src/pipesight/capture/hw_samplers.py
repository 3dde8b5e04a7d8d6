"""Starts every hardware sampler that can run here (NVML, tegrastats) beside the profiled
program; the ones that cannot say why."""

from __future__ import annotations

from pathlib import Path

from pipesight.capture.nvml_sampler import NvmlSampler
from pipesight.capture.samplers import SamplerSet
from pipesight.capture.tegrastats_sampler import TegrastatsSampler


def start_hw_samplers(samples_dir: Path, root_pid: int, interval_s: float = 0.1) -> SamplerSet:
    out = SamplerSet()
    for s in (NvmlSampler(samples_dir / "nvml.jsonl", interval_s, root_pid),
              TegrastatsSampler(samples_dir / "tegrastats.jsonl", interval_s)):
        if s.open():
            s.start()
            out.running.append(s)
        else:
            out.skipped[s.name] = s.note or "cannot run here"
    return out
