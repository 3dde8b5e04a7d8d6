"""The NVML sampler's record of a real NVDEC decode on the GPU machine
(bench/gpu/nvml_decode_capture.py; committed as tests/fixtures/nvml/nvdec_decode.jsonl): the
decoder's utilisation rises while PyNvVideoCodec decodes and the reader reads it back."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipesight.readers.hw_samples import read_nvml

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "nvml" / "nvdec_decode.jsonl"

pytestmark = pytest.mark.skipif(not FIXTURE.exists(),
                                reason="NVML fixture not recorded yet (bench/gpu/README)")


def _phases() -> dict[str, dict]:
    rows = [json.loads(x) for x in FIXTURE.read_text().splitlines() if x.strip()]
    return {r["name"]: r for r in rows if r.get("t") == "phase"}


def test_decoder_utilisation_rises_while_decoding() -> None:
    phases = _phases()
    idle = phases["idle-before"]
    decode = [p for name, p in phases.items() if name.startswith("decode-")]
    assert len(decode) == 2 and all(p["frames"] > 0 and not p["errors"] for p in decode)
    t0 = idle["start"]
    s = read_nvml(FIXTURE, t0)
    dec = s.get("dec_util", "nvml", "GPU 0")
    assert dec is not None and dec.unit == "%"

    def during(p: dict) -> np.ndarray:
        return dec.between((p["start"] - t0) / 1e9, (p["end"] - t0) / 1e9).v

    idle_v = during(idle)
    busy_v = np.concatenate([during(p) for p in decode])
    assert idle_v.size >= 5 and busy_v.size >= 20
    assert float(np.nanmean(busy_v)) >= float(np.nanmean(idle_v)) + 5
    assert float(np.nanmax(busy_v)) >= 10
    gpu = s.meta["nvml"]["gpus"][0]
    assert gpu["name"]
