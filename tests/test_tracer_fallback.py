"""pipesight on a target without a C compiler or GStreamer's headers: real pipelines profiled
with a PATH that has GStreamer's tools but no gcc (and an empty tracer cache).

- no prebuilt tracer: GStreamer's stats tracer stands in, and the terminal, the manifest and
  the verdict say so (a tracer-fallback finding, instrumentation.tracer "stats");
- a prebuilt tracer that fits the running GStreamer is used (exact per-element times);
- one built for a newer GStreamer is refused before the run (prebuilt.json) and, given to
  GStreamer anyway, refuses itself (the tracer checks the running version before it
  registers)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import needs_gst
from pipesight.tracer import prebuilt
from pipesight.tracer.compiler import PLUGIN, compile_tracer, find_cc

pytestmark = [needs_gst, pytest.mark.slow]
TOOLS = ("gst-launch-1.0", "gst-inspect-1.0", "dot", "eu-stack", "sh", "env")
PIPELINE = ["videotestsrc", "num-buffers=300", "!", "video/x-raw,width=320,height=240", "!",
            "queue", "!", "jpegenc", "!", "fakesink"]


def no_compiler_env(tmp: Path, pkg_config: bool) -> dict[str, str]:
    """The environment of a target without gcc: GStreamer's tools only (and pkg-config where
    its headers are said to be there), an empty tracer cache."""
    bin_dir = tmp / "bin"
    bin_dir.mkdir(exist_ok=True)
    for t in (*TOOLS, *(["pkg-config"] if pkg_config else [])):
        p = shutil.which(t)
        if p and not (bin_dir / t).exists():
            (bin_dir / t).symlink_to(p)
    env = {k: v for k, v in os.environ.items() if k not in ("PIPESIGHT_TRACER_DIR", "CC")}
    env.update(PATH=str(bin_dir), XDG_CACHE_HOME=str(tmp / "cache"))
    assert shutil.which("gcc", path=env["PATH"]) is None
    assert shutil.which("cc", path=env["PATH"]) is None
    return env


def profile(run: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipesight", "profile", "-o", str(run), "--",
                           "gst-launch-1.0", *PIPELINE], capture_output=True, text=True,
                          env=env, timeout=180)


@pytest.fixture(scope="module")
def fitting_prebuilt(tmp_path_factory) -> Path:
    """A prebuilt tracer made as a release makes one, against this machine's headers."""
    include = Path(subprocess.run(["pkg-config", "--variable=includedir", "gstreamer-1.0"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    return prebuilt.build(tmp_path_factory.mktemp("prebuilt") / "tracer", include.parent)


@pytest.mark.parametrize("pkg_config", [True, False], ids=["no-gcc", "no-gcc-no-headers"])
def test_without_a_compiler_it_falls_back_and_says_so(tmp_path: Path, pkg_config: bool) -> None:
    if prebuilt.packaged_dir().joinpath(PLUGIN).exists():
        pytest.skip("this installation ships a prebuilt tracer")
    env = no_compiler_env(tmp_path, pkg_config)
    r = profile(tmp_path / "run", env)
    assert r.returncode == 0, r.stderr
    why = "no C compiler found" if pkg_config else "GStreamer development files are missing"
    # said on the terminal before the run...
    assert why in r.stderr and "Using GStreamer's stats tracer instead" in r.stderr
    # ... in the answer ...
    assert "Profiled without pipesight's tracer" in r.stdout
    # ... and in the manifest and the verdict
    run = tmp_path / "run"
    manifest = json.loads((run / "manifest.json").read_text())
    assert why in manifest["tracer_fallback"] and manifest["tracers"] == ["stats"]
    v = json.loads((run / "verdict.json").read_text())
    assert v["instrumentation"]["tracer"] == "stats" and why in v["instrumentation"]["fallback"]
    f = next(f for f in v["findings"] if f["code"] == "tracer-fallback")
    assert f["severity"] == "warning" and "gcc" in f["fix"]
    assert any("pipesight's tracer was not used" in s for s in v["not_seen"])
    # the stock tracer still measured the flow: every element, rates, estimated times
    names = {e["name"]: e for e in v["elements"]}
    assert {"videotestsrc0", "queue0", "jpegenc0", "fakesink0"} <= set(names)
    assert names["jpegenc0"]["process_time_basis"] != "exact"
    assert v["throughput_fps"] and v["throughput_fps"] > 0
    assert not list((run / "trace").glob("events-*.bin"))


def test_a_fitting_prebuilt_tracer_is_used_without_a_compiler(tmp_path: Path,
                                                               fitting_prebuilt: Path) -> None:
    info = json.loads((fitting_prebuilt / prebuilt.INFO).read_text())
    running = prebuilt.running_gstreamer()
    assert running is not None and info["gstreamer_min"] == f"{running[0]}.{running[1]}"
    env = no_compiler_env(tmp_path, pkg_config=False)
    env["PIPESIGHT_TRACER_DIR"] = str(fitting_prebuilt)
    r = profile(tmp_path / "run", env)
    assert r.returncode == 0, r.stderr
    assert "stats tracer" not in r.stderr
    v = json.loads((tmp_path / "run" / "verdict.json").read_text())
    assert v["instrumentation"]["tracer"] == "pipesight"
    assert not any(f["code"] == "tracer-fallback" for f in v["findings"])
    assert {e["process_time_basis"] for e in v["elements"] if e["name"] == "jpegenc0"} == {
        "exact"}


def test_a_prebuilt_for_a_newer_gstreamer_is_refused(tmp_path: Path,
                                                     fitting_prebuilt: Path) -> None:
    newer = tmp_path / "newer"
    shutil.copytree(fitting_prebuilt, newer)
    info = json.loads((newer / prebuilt.INFO).read_text())
    info["gstreamer_min"] = "1.99"
    (newer / prebuilt.INFO).write_text(json.dumps(info))
    d, why = prebuilt.find(prebuilt.running_gstreamer(), newer)
    assert d is None and "built for GStreamer 1.99 or newer" in why
    env = no_compiler_env(tmp_path, pkg_config=False)
    env["PIPESIGHT_TRACER_DIR"] = str(newer)
    r = profile(tmp_path / "run", env)
    assert r.returncode == 0, r.stderr
    assert "built for GStreamer 1.99 or newer" in r.stderr and "stats tracer" in r.stderr
    v = json.loads((tmp_path / "run" / "verdict.json").read_text())
    assert v["instrumentation"]["tracer"] == "stats"
    # a prebuilt of another source is refused too
    info["gstreamer_min"], info["source_sha256"] = "1.0", "0" * 64
    (newer / prebuilt.INFO).write_text(json.dumps(info))
    assert "another version" in prebuilt.find(prebuilt.running_gstreamer(), newer)[1]


@pytest.mark.parametrize("min_minor, registers", [(99, False), (None, True)])
def test_the_tracer_checks_the_running_gstreamer_before_registering(
        tmp_path: Path, min_minor: int | None, registers: bool) -> None:
    """Given to GStreamer directly (no prebuilt.json, no pipesight in between)."""
    cc = find_cc()
    if cc is None:
        pytest.skip("no C compiler here to build the test's tracer")
    flags = subprocess.run(["pkg-config", "--cflags", "--libs", "gstreamer-1.0"],
                           capture_output=True, text=True, check=True).stdout.split()
    if min_minor is not None:
        flags.append(f"-DPS_GST_MIN_MINOR={min_minor}")
    assert compile_tracer(cc, tmp_path / "plugin", flags) is None
    trace = tmp_path / "trace"
    trace.mkdir()
    env = {**os.environ, "GST_PLUGIN_PATH": str(tmp_path / "plugin"), "GST_TRACERS": "pipesight",
           "PIPESIGHT_TRACE_DIR": str(trace),
           "GST_REGISTRY": str(tmp_path / "registry.bin")}  # the plugin scanned afresh
    r = subprocess.run(["gst-launch-1.0", "-q", *PIPELINE], capture_output=True, text=True,
                       env=env, timeout=120)
    assert r.returncode == 0, r.stderr  # the pipeline runs either way
    refused = "pipesight tracer: built for GStreamer 1.99 or newer, running 1." in r.stderr
    assert refused is not registers
    assert bool(list(trace.glob("events-*.bin"))) is registers
