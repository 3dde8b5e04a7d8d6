"""tegrastats logs from the corpus (JetPack 6 line, an Orin Nano stress run) and the other
line formats (JetPack 4 and 5), read as a user's file through `pipesight analyze`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from pipesight.cli import main
from pipesight.metrics.samples import tracks
from pipesight.readers import load
from pipesight.readers.tegrastats import parse_line, read_lines
from pipesight.trace.samples import INDEX, SECONDS
from pipesight.workflows.answer import analyze_path

JP6_LINE = "deepstream/tegrastats_jetson_stats_issue624_orin_jp6_nvdec_nvenc_vic.txt"
STRESS = "deepstream/tegrastats_orin_nano_gpu_burn_tegra_burn.log"

# published tegrastats lines of other releases (DataDog agent's and users' Jetson test data)
JP4_NANO_DECODING = (
    "RAM 2519/3956MB (lfb 3x4MB) SWAP 0/1978MB CPU [12%@1479,off,7%@1479,20%@1479] "
    "EMC_FREQ 9%@1600 GR3D_FREQ 45%@921 NVDEC 716 APE 25 PLL@33C CPU@36.5C PMIC@100C GPU@34C "
    "AO@41C thermal@35.25C POM_5V_IN 3187/3187 POM_5V_GPU 450/450 POM_5V_CPU 612/612")
JP4_XAVIER = (
    "RAM 721/31927MB (lfb 7291x4MB) SWAP 0/15963MB (cached 0MB) CPU [2%@1190,0%@1190,0%@1190,"
    "0%@1190,off,off,off,off] EMC_FREQ 0%@665 GR3D_FREQ 0%@318 APE 150 MTS fg 0% bg 0% "
    "AO@37.5C GPU@37.5C Tdiode@40C PMIC@100C AUX@36C CPU@37.5C thermal@36.9C Tboard@37C "
    "GPU 0/0 CPU 311/311 SOC 932/932 CV 0/0 VDDRQ 621/621 SYS5V 1482/1482")
JP5_ORIN_AGX = (
    "RAM 29114/30697MB (lfb 3x4MB)    SWAP 4915/15348MB (cached 1MB) CPU [3%@729,4%@729,0%@729,"
    "1%@729,0%@2201,100%@2201,1%@2201,0%@2201,100%@2201,0%@2201,0%@2201,0%@2201] EMC_FREQ 1%@2133 "
    "GR3D_FREQ 0%@[305,305] NVENC      off  NVDEC    off NVJPG off NVJPG1    off         VIC"
    "        off          OFA           off          NVDLA0    off       NVDLA1     off"
    "          PVA0_FREQ off         APE           174        cpu@53.062C soc2@48.25C "
    "soc0@48.843C  gpu@47.812C tj@53.062C soc1@48.968C    VDD_GPU_SOC 3205mW/3205mW "
    "VDD_CPU_CV 4405mW/4405mW VIN_SYS_5V0 4767mW/4767mW")


def _v(line, key):
    return line.values[key][0]


def test_jetpack6_line_every_field(corpus: Path) -> None:
    ln = parse_line((corpus / JP6_LINE).read_text())
    assert ln is not None and ln.unknown == []
    assert ln.stamp is not None and ln.stamp.isoformat() == "2025-05-15T18:30:28"
    assert (_v(ln, "ram_used"), _v(ln, "ram_total")) == (6982, 7620)
    assert (_v(ln, "swap_used"), _v(ln, "swap_total")) == (2640, 16384)
    assert [_v(ln, f"cpu{i}.load") for i in range(6)] == [97, 95, 95, 91, 88, 93]
    assert _v(ln, "cpu5.freq") == 247 and _v(ln, "cpus_online") == 6
    assert (_v(ln, "GR3D.load"), _v(ln, "GR3D.freq")) == (84, 713)
    assert (_v(ln, "EMC.load"), _v(ln, "EMC.freq")) == (18, 3199)
    assert (_v(ln, "NVDEC.load"), _v(ln, "NVDEC.freq")) == (40, 115)
    assert (_v(ln, "NVENC.load"), _v(ln, "VIC.load")) == (1, 31)
    # engines switched off count as idle
    assert _v(ln, "NVJPG.load") == 0 and _v(ln, "NVJPG1.load") == 0 and _v(ln, "OFA.load") == 0
    assert _v(ln, "temp.tj") == 65.562 and _v(ln, "temp.gpu") == 63.5
    assert (_v(ln, "power.VDD_IN"), _v(ln, "power_avg.VDD_IN")) == (17946, 15710)
    assert ln.values["power.VDD_IN"][1] == "mW"


def test_jetpack4_nvdec_is_a_clock_not_a_load() -> None:
    ln = parse_line(JP4_NANO_DECODING)
    assert ln is not None and ln.unknown == []
    assert _v(ln, "NVDEC.freq") == 716
    assert "NVDEC.load" not in ln.values
    assert math.isnan(_v(ln, "cpu1.load")) and _v(ln, "cpus_online") == 3
    assert (_v(ln, "power.POM_5V_IN"), _v(ln, "power_avg.POM_5V_GPU")) == (3187, 450)
    s = read_lines([JP4_NANO_DECODING] * 3, "jp4.log")
    assert s.get("NVDEC.load") is None and s.get("NVDEC.freq") is not None
    assert any("NVDEC printed as a clock only" in n for n in s.notes)


def test_jetpack4_xavier_rails_without_prefix_and_jetpack5_spacing() -> None:
    x = parse_line(JP4_XAVIER)
    assert x is not None and x.unknown == []
    assert _v(x, "power.CPU") == 311 and _v(x, "temp.GPU") == 37.5 and _v(x, "power.GPU") == 0
    o = parse_line(JP5_ORIN_AGX)
    assert o is not None and o.unknown == []
    assert _v(o, "GR3D.freq") == 305 and _v(o, "APE.freq") == 174
    assert _v(o, "cpu5.load") == 100 and _v(o, "cpu5.freq") == 2201
    assert _v(o, "power_avg.VIN_SYS_5V0") == 4767 and _v(o, "NVDLA1.load") == 0


def test_lines_without_stamp_count_lines() -> None:
    s = read_lines([JP4_XAVIER, JP4_XAVIER], "x.log")
    ram = s.get("ram_used")
    assert ram is not None and ram.clock == INDEX and ram.t.tolist() == [0.0, 1.0]


def test_stress_log_series_and_findings(corpus: Path) -> None:
    trace, kind = load(corpus / STRESS)
    assert kind == "tegrastats log"
    s = trace.samples
    assert s is not None
    gr3d = s.get("GR3D.load")
    assert gr3d is not None and gr3d.clock == SECONDS and len(gr3d) == 103
    assert gr3d.t[0] == 0 and gr3d.t[-1] == 105.0  # 20:05:55 to 20:07:40
    assert gr3d.v[:2].tolist() == [22, 32] and (gr3d.v[11:] == 99).all()
    assert np.isnan(s.get("cpu4.load").v).all() and (s.get("cpus_online").v == 4).all()
    vdd = s.get("power.VDD_IN")
    assert vdd.v[0] == 5542 and vdd.v.max() == 13830
    _, _, v, _ = analyze_path(corpus / STRESS)
    codes = {f.code: f for f in v.findings}
    gpu = codes["gpu-util-saturated"]
    assert gpu.kind == "gpu" and gpu.severity == "critical"
    assert {e.metric: e.value for e in gpu.evidence}["saturated_samples"] == 92
    assert codes["cpu-cores-saturated"].kind == "cpu"
    assert "2 of 6 CPU cores are offline" in codes["jetson-power-mode"].title
    assert v.bottleneck.kind in ("cpu", "gpu") and v.bottleneck.confidence == "suspected"
    assert any(x.startswith("tegrastats samples") for x in v.seen)


def test_single_line_is_read_but_not_judged(corpus: Path) -> None:
    _, _, v, kind = analyze_path(corpus / JP6_LINE)
    assert kind == "tegrastats log"
    assert not [f for f in v.findings if f.kind]  # one sample cannot show a sustained load
    assert v.bottleneck.kind == "unknown" and "sampled counters only" in v.bottleneck.summary


def test_colour_codes_cut_last_line_and_foreign_lines(corpus: Path, tmp_path: Path) -> None:
    lines = (corpus / STRESS).read_text().splitlines()[:20]
    coloured = [f"\x1b[32m{x}\x1b[0m" for x in lines[:10]] + lines[10:19]
    text = "\n".join([*coloured, "some other program said hello", lines[19][:37]])
    p = tmp_path / "mixed.log"
    p.write_text(text)
    trace, _ = load(p)
    s = trace.samples
    assert s is not None and len(s.get("GR3D.load")) == 20  # the cut line still has RAM and CPU
    assert s.get("GR3D.load").v[:12].tolist() == [22, 32, 0, 0, 0, 14, 0, 0, 0, 0, 0, 99]
    assert any("not tegrastats output" in n for n in s.notes)


def test_tracks_expose_the_series(corpus: Path) -> None:
    trace, _ = load(corpus / STRESS)
    tr = {t.name: t for t in tracks(trace)}
    g = tr["tegrastats/jetson/GR3D.load"]
    assert g.unit == "%" and g.clock == SECONDS and g.origin_ns is None
    assert g.t_seconds.shape == g.values.shape == (103,)
    assert "first line" in g.origin


def test_analyze_json_from_the_command_line(corpus: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["analyze", str(corpus / STRESS), "--json"]) == 0
    v = json.loads(capsys.readouterr().out)
    assert {"gpu-util-saturated", "cpu-cores-saturated", "jetson-power-mode"} <= {
        f["code"] for f in v["findings"]}
