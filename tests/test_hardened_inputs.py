"""Issue 16's damaged inputs, each made from a valid one: pipesight reads what it can, skips and
says what it cannot, and never ends in an internal error, a traceback or a hang. Each of these
ended in exit 70 (or hung) before the readers validated what they read."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from conftest import needs_gst
from harden_helpers import copy_run, one_line_error, run, verdict_or_one_line

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def stats_log(tmp_path_factory) -> Path:
    """A real tracer log of GStreamer's stats and latency tracers."""
    if shutil.which("gst-launch-1.0") is None:
        pytest.skip("GStreamer (gst-launch-1.0) not installed")
    d = tmp_path_factory.mktemp("statslog")
    log = d / "stats.log"
    env = {**os.environ, "GST_TRACERS": "stats;latency(flags=pipeline+element)",
           "GST_DEBUG": "GST_TRACER:7", "GST_DEBUG_NO_COLOR": "1", "GST_DEBUG_FILE": str(log)}
    subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=60", "!",
                    "video/x-raw,width=160,height=120", "!", "queue", "!", "jpegenc", "!",
                    "fakesink"], env=env, check=True, timeout=60)
    return log


@pytest.fixture(scope="module")
def seed_run(tmp_path_factory) -> Path:
    """A real run directory of a short pipeline."""
    if shutil.which("gst-launch-1.0") is None:
        pytest.skip("GStreamer (gst-launch-1.0) not installed")
    d = tmp_path_factory.mktemp("seed") / "run"
    r = run("profile", "-o", str(d), "--duration", "1.5", "--json", "--", "gst-launch-1.0",
            "videotestsrc", "!", "video/x-raw,width=160,height=120", "!", "queue", "!",
            "jpegenc", "!", "fakesink")
    assert r.returncode == 0, r.stderr
    return d


# ---------------------------------------------------------------- GStreamer tracer logs

def test_tracer_log_with_a_26_digit_time(tmp_path, stats_log):
    text = stats_log.read_text()
    first = re.search(r"buffer, thread-id=\(guint64\)\d+, ts=\(guint64\)(\d+)", text)
    assert first
    bad = tmp_path / "ts26.log"
    bad.write_text(text.replace(first.group(0), first.group(0).replace(
        first.group(1), "12345678901234567890123456"), 1))
    v = verdict_or_one_line(run("analyze", "--json", str(bad)))
    assert v is not None
    assert v["elements"], "the other buffer records are still read"


def test_tracer_log_with_negated_numbers(tmp_path, stats_log):
    # every buffer-size negative: the fast pattern misses them all, the field-by-field path
    # reads them, and a negative size is out of range
    bad = tmp_path / "neg.log"
    bad.write_text(stats_log.read_text().replace("buffer-size=(uint)", "buffer-size=(uint)-"))
    v = verdict_or_one_line(run("analyze", "--json", str(bad)))
    assert v is not None


# ---------------------------------------------------------------- tegrastats

TEGRASTATS = "tegrastats_orin_nano_gpu_burn_tegra_burn.log"


def test_tegrastats_cut_mid_line(tmp_path, corpus):
    lines = (corpus / "deepstream" / TEGRASTATS).read_bytes().split(b"\n")
    bad = tmp_path / "cut.log"
    bad.write_bytes(b"\n".join(lines[:10]) + b"\n" + lines[10][:41])  # "... RAM 5447/6834MB (lfb "
    r = run("analyze", "--json", str(bad))
    v = verdict_or_one_line(r)
    assert v is not None and r.returncode == 4, "a cut input is analysed as far as it goes"
    assert "truncated" in r.stderr


def test_tegrastats_with_a_broken_cpu_field(tmp_path, corpus):
    src = (corpus / "deepstream" / TEGRASTATS).read_bytes()
    bad = tmp_path / "cpu.log"
    bad.write_bytes(src.replace(b"[99%@1189", b"100%@118D", 1))  # a line without its CPU field
    assert verdict_or_one_line(run("analyze", "--json", str(bad))) is not None


# ---------------------------------------------------------------- deepstream-app configs

@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "9" * 400])
def test_deepstream_config_with_impossible_numbers(tmp_path, value):
    shutil.copytree(FIXTURES / "ds", tmp_path / "ds")
    app = tmp_path / "ds" / "app_good.txt"
    text = re.sub(r"^type=\d+", f"type={value}", app.read_text(), flags=re.M)
    app.write_text(re.sub(r"^batch-size=\d+", f"batch-size={value}", text, flags=re.M))
    r = run("doctor", "--json", str(app))
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and not r.stderr.strip()


# ---------------------------------------------------------------- Nsight Systems exports

@pytest.mark.parametrize("how", ["DROP TABLE CUPTI_ACTIVITY_KIND_RUNTIME",
                                 "DELETE FROM CUPTI_ACTIVITY_KIND_RUNTIME"])
def test_nsys_export_without_runtime_calls(tmp_path, how):
    db = tmp_path / "export.sqlite"
    shutil.copy(FIXTURES / "nsys" / "sync-copies.sqlite", db)
    with sqlite3.connect(db) as con:
        con.execute(how)
    v = verdict_or_one_line(run("analyze", "--json", str(db)))
    assert v is not None and v["gpus"], "the GPU's own operations are still analysed"


def test_damaged_sqlite_schema_is_one_clean_line(tmp_path):
    db = tmp_path / "export.sqlite"
    shutil.copy(FIXTURES / "nsys" / "sync-copies.sqlite", db)
    with sqlite3.connect(db) as con:  # what a flipped byte in the schema page can read as
        con.execute("PRAGMA writable_schema=ON")
        con.execute("UPDATE sqlite_master SET sql=? WHERE name='StringIds'",
                    ("CREATE TABLE StringIds(\n\x1b]0;pwned\x07\x1b[2J\u202e" + "x" * 500,))
    r = run("analyze", "--json", str(db))
    line = one_line_error(r)
    assert r.returncode == 2
    assert "\x1b" not in line and "\u202e" not in line and "\x07" not in line
    assert len(line) < 400


# ---------------------------------------------------------------- run directories

@needs_gst
@pytest.mark.parametrize("content", [b"null\n", b"[]\n", b'{"host": [], "start_monotonic_ns": '
                                     b'"x", "delay_s": NaN, "command": 3}\n'])
def test_run_dir_with_a_manifest_that_is_not_an_object(tmp_path, seed_run, content):
    d = copy_run(seed_run, tmp_path / "run")
    (d / "manifest.json").write_bytes(content)
    v = verdict_or_one_line(run("analyze", "--json", str(d)))
    assert v is not None and v["throughput_fps"], "the trace is still analysed"


@needs_gst
@pytest.mark.parametrize("line", [b"null", b'{"t":"s","ts":1,"tid":1,"cpu":Infinity,"wait":0}',
                                  b'{"t":"header","ncpu":NaN,"interval_s":"x"}', b"[1,2]"])
def test_run_dir_with_bad_proc_samples(tmp_path, seed_run, line):
    d = copy_run(seed_run, tmp_path / "run")
    with open(d / "samples" / "proc.jsonl", "ab") as f:
        f.write(line + b"\n")
    v = verdict_or_one_line(run("analyze", "--json", str(d)))
    assert v is not None and v["throughput_fps"]


@needs_gst
@pytest.mark.parametrize("edit", [
    (r'"t":"element","id":\d+', '"t":"element","id":NaN'),
    (r'("t":"link"(?:,"ts":\d+)?,"src":\d+),"sink":\d+', r"\1"),
    (r'"t":"pad","id":\d+', '"t":"pad","id":18446744073709551616'),
    (r'"t":"element","id":\d+', '"t":"element","id":"x"'),
    # a bin its elements name as their parent, never defined (a definitions file cut short:
    # the fuzz campaign's report crashed drawing its cluster)
    (r'(?m)^.*"t":"element"[^\n]*"is_bin":true[^\n]*\n', ""),
])
def test_run_dir_with_damaged_tracer_definitions(tmp_path, seed_run, edit):
    d = copy_run(seed_run, tmp_path / "run")
    defs = next((d / "trace").glob("defs-*.jsonl"))
    text, n = re.subn(edit[0], edit[1], defs.read_text(), count=1)
    assert n == 1
    defs.write_text(text)
    r = run("analyze", "--json", str(d))
    assert verdict_or_one_line(r) is not None
    r = run("doctor", "--json", str(d))
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    shutil.rmtree(d / "dot", ignore_errors=True)  # the graph drawn from the definitions
    r = run("report", str(d), "-o", str(tmp_path / "report.html"))
    assert r.returncode == 0, r.stderr


# ---------------------------------------------------------------- pipes and devices

def _fifo(tmp_path: Path) -> Path:
    p = tmp_path / "fifo"
    os.mkfifo(p)
    return p


@pytest.mark.parametrize("command", ["analyze", "doctor"])
def test_a_fifo_nobody_writes_to_gives_up_with_one_line(tmp_path, command):
    t0 = time.monotonic()
    r = run(command, str(_fifo(tmp_path)), timeout=60, env={"PIPESIGHT_PIPE_TIMEOUT": "1"})
    assert time.monotonic() - t0 < 30
    assert r.returncode == 2
    assert "nothing was written to this pipe" in one_line_error(r)


def test_a_fifo_is_read_as_it_is_written(tmp_path, corpus):
    fifo = _fifo(tmp_path)
    src = (corpus / "deepstream" / TEGRASTATS).read_bytes()

    def writer() -> None:
        time.sleep(0.5)  # pipesight opens first and waits
        with open(fifo, "wb") as f:
            for i in range(0, len(src), 4096):
                f.write(src[i:i + 4096])
                f.flush()

    t = threading.Thread(target=writer)
    t.start()
    r = run("analyze", "--json", str(fifo), timeout=60, env={"PIPESIGHT_PIPE_TIMEOUT": "10"})
    t.join()
    v = verdict_or_one_line(r)
    assert v is not None and r.returncode == 0
    assert str(fifo) in " ".join(v["inputs"]), "the pipe is named as the user named it"


def test_standard_input_and_process_substitution(tmp_path, corpus):
    log = corpus / "deepstream" / TEGRASTATS
    with open(log, "rb") as f:
        r = run("analyze", "--json", "-", stdin=f.fileno())
    assert verdict_or_one_line(r) is not None and r.returncode == 0
    gz = tmp_path / "t.log.gz"
    subprocess.run(f"gzip -c {log} > {gz}", shell=True, check=True)
    r = subprocess.run(["bash", "-c", f'"$@" analyze --json <(zcat {gz})', "bash",
                        *[str(x) for x in run.__globals__["PIPESIGHT"]]],
                       capture_output=True, text=True, timeout=120)
    assert verdict_or_one_line(r) is not None and r.returncode == 0


def test_standard_input_nobody_writes_to(tmp_path):
    sleeper = subprocess.Popen(["sleep", "30"], stdout=subprocess.PIPE)
    try:
        r = run("analyze", "-", stdin=sleeper.stdout.fileno(),  # type: ignore[union-attr]
                env={"PIPESIGHT_PIPE_TIMEOUT": "1"}, timeout=60)
    finally:
        sleeper.kill()
        sleeper.wait()
    assert r.returncode == 2
    assert "nothing was written" in one_line_error(r)


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero", "/dev/urandom"])
def test_devices_are_refused(device):
    for command in ("analyze", "doctor"):
        r = run(command, device, timeout=60)
        assert r.returncode == 2
        assert "a device, not a file" in one_line_error(r)


@needs_gst
@pytest.mark.parametrize("what", ["fifo", "symlink"])
def test_outputs_never_go_through_what_sits_in_their_place(tmp_path, seed_run, what):
    """A run directory from elsewhere may hold a pipe (writing would wait for a reader for ever)
    or a link to another file (writing would overwrite it) where pipesight writes its verdict
    and reports: each is replaced by a new file; the file a link pointed to is left alone."""
    d = copy_run(seed_run, tmp_path / "run")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep")
    for name in ("verdict.json", "report.html", "trace.json", "doctor.json"):
        if what == "fifo":
            os.mkfifo(d / name)
        else:
            (d / name).symlink_to(victim)
    r = run("analyze", "--json", str(d), timeout=60)
    assert verdict_or_one_line(r) is not None
    r = run("doctor", "--json", str(d), timeout=60)
    assert r.returncode == 0, r.stderr
    assert victim.read_text() == "keep"
    for name in ("verdict.json", "report.html", "trace.json", "doctor.json"):
        assert (d / name).is_file() and not (d / name).is_symlink()
