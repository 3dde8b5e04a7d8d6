"""pipesight watch on real pipelines: the ring read while it is written (overruns counted),
intervals judged and kept, the bottleneck moving in the Prometheus metrics (scraped over HTTP),
stale series gone, SIGINT and a crash keeping the last interval, --restart, attach mode, OTLP
export to an in-process receiver, and bad input (a taken port, an OTLP endpoint that is down).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from conftest import needs_gst

pytest.importorskip("prometheus_client", reason="the watch extra: pip install 'pipesight[watch]'")

PIPESIGHT = [sys.executable, "-m", "pipesight"]
APPS = Path(__file__).parent / "apps"
FAST = ["gst-launch-1.0", "videotestsrc", "pattern=black", "!",
        "video/x-raw,width=32,height=24", "!", "queue", "!", "fakesink", "sync=false"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_watch(run: Path, *args: str, cmd: list[str] | None = None) -> subprocess.Popen:
    argv = [*PIPESIGHT, "watch", "-o", str(run), *args]
    if cmd:
        argv += ["--", *cmd]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def intervals(run: Path) -> list[dict]:
    p = run / "intervals.jsonl"
    if not p.exists():
        return []
    return [json.loads(x) for x in p.read_text().splitlines() if x.strip()]


def wait_for(cond, timeout: float, step: float = 0.2):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = cond()
        if v:
            return v
        time.sleep(step)
    raise AssertionError("timed out waiting")


def scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("pipesight_"):
            key, _, val = line.rpartition(" ")
            out[key] = float(val)
    return out


def tracer_dir() -> str:
    from pipesight.tracer.build import plugin_dir

    d, note = plugin_dir()
    assert d is not None, note
    return str(d)


@needs_gst
def test_ring_overrun_is_counted_and_nothing_half_written_is_read(tmp_path):
    from pipesight.watch.ring import RingReader, writer_alive

    ring = tmp_path / "ring"
    ring.mkdir()
    env = {**os.environ, "GST_PLUGIN_PATH": tracer_dir(), "GST_TRACERS": "pipesight",
           "PIPESIGHT_TRACE_DIR": str(ring), "PIPESIGHT_RING_MB": "1"}
    proc = subprocess.Popen(["gst-launch-1.0", "-q", *FAST[1:]], env=env)
    try:
        ev = wait_for(lambda: next(iter(ring.glob("events-*.bin")), None), 10)
        reader = RingReader(ev)
        first = reader.poll()
        time.sleep(1.5)  # 16384 slots: the pipeline laps the ring many times meanwhile
        late = reader.poll()
        assert late.lost > 0 and reader.lost >= late.lost
        assert writer_alive(ev)
        for got in (first, late):
            seq = got.records["seq"].astype("int64")
            assert (seq[1:] > seq[:-1]).all(), "records come in order"
            assert got.records["kind"].min(initial=1) >= 1, "no empty slot taken as a record"
        n = reader.next
        again = reader.poll()  # read on right after: nothing lost in a short gap
        deadline = time.monotonic() + 5
        while again.records.shape[0] == 0 and time.monotonic() < deadline:
            assert again.lost == 0
            time.sleep(0.001)  # the writer may not have run since (two busy cores)
            again = reader.poll()
        assert again.lost == 0 and again.records.shape[0] > 0
        assert int(again.records["seq"][0]) == n + 1
    finally:
        proc.terminate()
        proc.wait(10)
    assert not writer_alive(ev), "the lock goes with the process"
    # a ring is no finished trace: analyze says so in one line
    r = subprocess.run([*PIPESIGHT, "analyze", str(ring)], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "watch" in r.stderr, r.stderr


@needs_gst
def test_message_records_rotate_and_lost_ones_are_counted(tmp_path):
    """Late buffers at a synchronising sink post a QoS message each: the msgs file rotates at
    its cap, definitions stay whole, and the numbering tells what rotated away unread."""
    from pipesight.watch.stream import Definitions
    from pipesight.watch.tail import LineTail

    ring = tmp_path / "ring"
    ring.mkdir()
    env = {**os.environ, "GST_PLUGIN_PATH": tracer_dir(), "GST_TRACERS": "pipesight",
           "PIPESIGHT_TRACE_DIR": str(ring), "PIPESIGHT_RING_MB": "1",
           "PIPESIGHT_MSGS_MAX_KB": "1"}
    cmd = ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "!",
           "video/x-raw,width=32,height=24,framerate=1000/1", "!", "identity",
           "sleep-time=3000", "!", "fakesink", "sync=true", "qos=true", "max-lateness=1000000"]
    proc = subprocess.Popen(cmd, env=env)
    try:
        ev = wait_for(lambda: next(iter(ring.glob("events-*.bin")), None), 10)
        pid = ev.name[len("events-"):-len(".bin")]
        tail = LineTail(ring / f"msgs-{pid}.jsonl", ring / f"msgs-{pid}.1.jsonl")
        defs = Definitions()
        for d in LineTail(ring / f"defs-{pid}.jsonl").poll():
            defs.add(d)
        # read up to the first message (a loss is counted from what was read last): on a
        # loaded machine the first QoS message can come after the first look
        deadline = time.monotonic() + 10
        while defs.last_n == 0 and time.monotonic() < deadline:
            for d in tail.poll():
                defs.add(d)
            time.sleep(0.05)
        assert defs.last_n > 0, "QoS messages are posted"
        time.sleep(3)
        for d in tail.poll():
            defs.add(d)
    finally:
        proc.terminate()
        proc.wait(10)
    sizes = [p.stat().st_size for p in ring.glob(f"msgs-{pid}*.jsonl")]
    assert (ring / f"msgs-{pid}.1.jsonl").exists(), "rotated"
    assert max(sizes) < 512 + 400, sizes  # half the cap, and the line that crossed it
    assert defs.lost > 0, "messages rotated away unread are counted"
    assert any(d["t"] == "element" for d in defs.structure), "definitions are kept whole"
    assert any(d.get("type") == "qos" for d in defs.recent)


@needs_gst
def test_bottleneck_change_in_prometheus_sigint_keeps_the_last_interval(tmp_path):
    run, port = tmp_path / "run", free_port()
    w = start_watch(run, "--interval", "2", "--prometheus", f"127.0.0.1:{port}",
                    "--name", "switch", cmd=[sys.executable, str(APPS / "switch_app.py"), "7"])
    try:
        wait_for(lambda: len(intervals(run)) >= 2, 30)
        before = scrape(port)
        t_before = time.monotonic()
        key_a = ('pipesight_bottleneck{confidence="confirmed",element="slow_a",'
                 'kind="element",pipeline="switch"}')
        assert before.get(key_a) == 1.0, before
        assert not any('element="slow_b"' in k and k.startswith("pipesight_bottleneck{")
                       for k in before)
        wait_for(lambda: any((r.get("bottleneck") or {}).get("element") == "slow_b"
                             for r in intervals(run)[-2:]), 40)
        after = scrape(port)
        t_after = time.monotonic()
    finally:
        w.send_signal(signal.SIGINT)
        _out, err = w.communicate(timeout=40)
    assert w.returncode == 0, err
    bottlenecks = {k: v for k, v in after.items() if k.startswith("pipesight_bottleneck{")}
    assert list(bottlenecks) == [key_a.replace("slow_a", "slow_b")], bottlenecks
    assert after['pipesight_bottleneck_changes_total{pipeline="switch"}'] >= 1
    # rate() of the frame counter agrees with pipesight's own verdicts over the same time
    sink = 'pipesight_frames_total{element="sink",pipeline="switch",role="sink"}'
    rate = (after[sink] - before[sink]) / (t_after - t_before)
    recs = intervals(run)
    fps = [r["throughput_fps"] for r in recs[1:-1] if r["throughput_fps"]]
    assert abs(rate - sum(fps) / len(fps)) < 0.2 * rate, (rate, fps)
    # histograms carry element and pipeline labels only; no thread ids anywhere
    assert any(k.startswith("pipesight_element_processing_seconds_bucket{element=\"slow_b\"")
               for k in after)
    assert not any("tid" in k or "os_tid" in k for k in after)
    # the last interval: ended by the signal (EOS), judged, and kept for analyze
    last = recs[-1]
    assert last["ended"]["by"] == "stopped by SIGINT" and not last["ended"]["failed"]
    assert all(r["complete"] for r in recs)
    a = subprocess.run([*PIPESIGHT, "analyze", "--json", str(run)], capture_output=True,
                       text=True, timeout=120)
    assert a.returncode == 0, a.stderr
    v = json.loads(a.stdout)
    assert v["throughput_fps"] == pytest.approx(last["throughput_fps"], rel=1e-6)
    assert v["bottleneck"]["element"] == last["bottleneck"]["element"]
    # an interval starts with the queues holding buffers: more leave than come in, and the
    # level is counted from what they must have held, not from an empty queue
    for q in v["queues"]:
        # it held at least the deficit before its first buffer left, one fewer after
        assert q["max_level_buffers"] >= q["buffers_out"] - q["buffers_in"] - 1, q
        if q["full_pct"] > 50:
            assert q["mean_level_buffers"] > 1, q
    assert not list((run / "ring").iterdir()), "the finished process's ring is removed"
    assert len(list((run / "trace").glob("events-*.bin"))) == 1, "one window kept, no more"
    # two intervals' verdicts, compared: the sentence says where the bottleneck went
    first = next(r for r in recs if r["bottleneck"]["element"] == "slow_a")["interval"]
    c = subprocess.run([*PIPESIGHT, "compare", "--json", str(run / "verdicts" / f"{first}.json"),
                        str(run / "verdicts" / f"{last['interval']}.json")],
                       capture_output=True, text=True, timeout=120)
    assert c.returncode == 0, c.stderr
    assert "slow_a" in c.stdout and "slow_b" in c.stdout
    # the report of the watch run: the bottleneck over time, as intervals.jsonl has it
    r = subprocess.run([*PIPESIGHT, "report", str(run)], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stderr
    html = (run / "report.html").read_text()
    section = html[html.index('<section id="watch">'):]
    section = section[:section.index("</section>")]
    rows = re.findall(r"<tr><td>(\d+)</td><td>(\d+)</td><td>.*?<span class=\"mono\">([^<]*)"
                      r"</span>.*?<td>(\d+)</td><td>\d*</td></tr>", section)
    said = [b for _, _, b, _ in rows]
    judged = [" ".join(x for x in (r["bottleneck"]["kind"], r["bottleneck"]["element"]) if x)
              for r in recs]
    assert said == [b for i, b in enumerate(judged) if i == 0 or judged[i - 1] != b], rows
    assert said.index("element slow_a") < said.index("element slow_b")
    assert sum(int(n) for *_, n in rows) == len(recs)
    moves = sum(a != b for a, b in itertools.pairwise(judged))
    assert f"the bottleneck moved {moves} time" in section


@needs_gst
def test_a_crash_keeps_the_last_interval(tmp_path):
    run = tmp_path / "run"
    w = start_watch(run, "--interval", "2", "--quiet",
                    cmd=[sys.executable, str(APPS / "switch_app.py"), "100", "--abort-after", "3"])
    _out, err = w.communicate(timeout=60)
    assert w.returncode == 3, err
    last = intervals(run)[-1]
    assert last["ended"]["failed"] and last["ended"]["signal"] == "SIGABRT"
    assert last["bottleneck"]["kind"] == "failed"
    a = subprocess.run([*PIPESIGHT, "analyze", "--json", str(run)], capture_output=True,
                       text=True, timeout=120)
    assert a.returncode == 4  # the run of a failed command: analysed as far as it goes
    v = json.loads(a.stdout)
    assert v["bottleneck"]["kind"] == "failed"
    assert any(e["name"] == "slow_a" and e["buffers_in"] > 0 for e in v["elements"])


@needs_gst
def test_restart_goes_on_and_the_series_continue(tmp_path):
    run, port = tmp_path / "run", free_port()
    cmd = ["gst-launch-1.0", "videotestsrc", "num-buffers=300", "pattern=black", "!",
           "video/x-raw,width=32,height=24,framerate=200/1", "!", "queue", "!", "fakesink",
           "sync=true"]
    w = start_watch(run, "--interval", "1", "--restart", "--quiet", "--name", "r",
                    "--prometheus", f"127.0.0.1:{port}", cmd=cmd)
    try:
        wait_for(lambda: len({tuple(r["pids"]) for r in intervals(run) if r["pids"]}) >= 2, 40)
        wait_for(lambda: intervals(run)[-1].get("throughput_fps"), 20)
        m = scrape(port)
    finally:
        w.send_signal(signal.SIGINT)
        w.communicate(timeout=40)
    assert w.returncode == 0
    recs = intervals(run)
    assert any(r["ended"] and r["ended"]["by"] == "exit" and not r["ended"]["failed"]
               for r in recs)
    assert m['pipesight_command_restarts_total{pipeline="r"}'] >= 1
    assert m['pipesight_frames_total{element="fakesink0",pipeline="r",role="sink"}'] > 300
    assert len(list((run / "ring").glob("events-*.bin"))) <= 1, "ended rings are removed"


@needs_gst
def test_attach_to_a_pipeline_pipesight_did_not_start(tmp_path):
    ring, run = tmp_path / "ring", tmp_path / "run"
    p = subprocess.run([*PIPESIGHT, "watch", "--print-env", str(ring)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    env = dict(os.environ)
    added = dict(x.split("=", 1) for x in p.stdout.splitlines() if x and not x.startswith("#"))
    assert {"GST_PLUGIN_PATH", "GST_TRACERS", "PIPESIGHT_TRACE_DIR"} <= set(added)
    env.update(added)
    cmd = ["gst-launch-1.0", "-q", "videotestsrc", "is-live=true", "pattern=black", "!",
           "video/x-raw,width=32,height=24,framerate=300/1", "!", "queue", "!", "fakesink",
           "sync=false"]
    service = subprocess.Popen(cmd, env=env)
    try:
        wait_for(lambda: list(ring.glob("events-*.bin")), 10)
        w = start_watch(run, "--attach", str(ring), "--interval", "1", "--quiet")
        try:
            got = wait_for(lambda: [r for r in intervals(run)
                                    if (r.get("throughput_fps") or 0) > 250], 30)
        finally:
            w.send_signal(signal.SIGINT)
            w.communicate(timeout=30)
        assert w.returncode == 0
        assert got[0]["pids"] == [service.pid]
        assert got[0]["bottleneck"]["kind"] == "live-source"
        assert service.poll() is None, "attach never stops the service"
    finally:
        service.terminate()
        service.wait(10)


class _Receiver(BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        type(self).bodies.append(self.rfile.read(n))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *a):
        pass


@needs_gst
def test_otlp_export_to_a_receiver(tmp_path):
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
        ExportMetricsServiceRequest,
    )

    srv = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    run = tmp_path / "run"
    url = f"http://127.0.0.1:{srv.server_port}/v1/metrics"
    w = start_watch(run, "--interval", "1", "--otlp", url, "--quiet", "--name", "o",
                    cmd=[sys.executable, str(APPS / "switch_app.py"), "100"])
    try:
        wait_for(lambda: len(intervals(run)) >= 3 and len(_Receiver.bodies) >= 2, 40)
    finally:
        w.send_signal(signal.SIGINT)
        _out, err = w.communicate(timeout=40)
        srv.shutdown()
    assert w.returncode == 0, err
    metrics = {}
    for body in _Receiver.bodies:
        req = ExportMetricsServiceRequest()
        req.ParseFromString(body)
        for rm in req.resource_metrics:
            for sm in rm.scope_metrics:
                for m in sm.metrics:
                    metrics[m.name] = m
    assert metrics["pipesight.frames"].unit == "{frame}"
    assert metrics["pipesight.frames"].sum.is_monotonic
    h = metrics["pipesight.element.processing.duration"]
    assert h.unit == "s" and h.histogram.data_points
    b = metrics["pipesight.bottleneck"].gauge.data_points
    attrs = [{a.key: a.value.string_value for a in dp.attributes} for dp in b]
    assert attrs and attrs[-1]["element"] == "slow_a" and attrs[-1]["pipeline"] == "o"


@needs_gst
def test_otlp_endpoint_down_keeps_watching_and_says_so_once(tmp_path):
    pytest.importorskip("opentelemetry.sdk")
    run = tmp_path / "run"
    url = f"http://127.0.0.1:{free_port()}/v1/metrics"  # nothing listens there
    w = start_watch(run, "--interval", "1", "--otlp", url, "--quiet", cmd=FAST)
    try:
        wait_for(lambda: len(intervals(run)) >= 4, 40)
    finally:
        w.send_signal(signal.SIGINT)
        _out, err = w.communicate(timeout=40)
    assert w.returncode == 0, err
    assert err.count("cannot export to the OTLP endpoint") == 1, err
    assert "Traceback" not in err


def test_a_taken_port_is_one_line_and_exit_2(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = subprocess.run([*PIPESIGHT, "watch", "-o", str(tmp_path / "run"), "--prometheus",
                            f"127.0.0.1:{port}", "--", "true"], capture_output=True, text=True,
                           timeout=60)
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "port" in r.stderr, r.stderr


def test_bad_arguments_are_one_line(tmp_path):
    for args in (["--interval", "0", "--", "true"], ["--prometheus", "nohost", "--", "true"],
                 ["--otlp", "localhost:4318", "--", "true"], ["--attach", str(tmp_path / "x")],
                 []):
        r = subprocess.run([*PIPESIGHT, "watch", "-o", str(tmp_path / "r"), *args],
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 2, (args, r.stderr)
        assert r.stderr.count("\n") == 1, r.stderr


def test_interval_log_is_bounded(tmp_path):
    from pipesight.watch.record import IntervalLog

    log = IntervalLog(tmp_path / "intervals.jsonl", max_bytes=20_000)
    for i in range(2000):
        log.append({"interval": i, "pad": "x" * 100})
    files = list(tmp_path.glob("intervals*.jsonl"))
    assert sum(f.stat().st_size for f in files) <= 20_000 + 200
    last = json.loads((tmp_path / "intervals.jsonl").read_text().splitlines()[-1])
    assert last["interval"] == 1999


@needs_gst
def test_judging_an_interval_does_not_read_the_interval_log(tmp_path):
    """The interval log grows with the run (up to 16 MB); judging each interval must not read
    it back (only a report draws it), or watching would cost more the longer it runs. Every
    file the watch process opens is seen through Python's audit hook."""
    run, seen = tmp_path / "run", tmp_path / "opened.txt"
    code = ("import sys\n"
            f"seen = open({str(seen)!r}, 'w')\n"
            "def hook(ev, args):\n"
            "    if ev == 'open' and str(args[0]).endswith(('intervals.jsonl',\n"
            "                                               'intervals.1.jsonl')):\n"
            "        seen.write(f'{args[0]} {args[1]}\\n'); seen.flush()\n"
            "sys.addaudithook(hook)\n"
            "from pipesight.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    w = subprocess.Popen([sys.executable, "-c", code, "watch", "-o", str(run), "--interval", "1",
                          "--quiet", "--", *FAST], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        wait_for(lambda: len(intervals(run)) >= 3, 60)
    finally:
        w.send_signal(signal.SIGINT)
        w.communicate(timeout=40)
    opened = [ln.rsplit(" ", 1) for ln in seen.read_text().splitlines()]
    assert len([m for _p, m in opened if "a" in m]) >= 3, opened  # one append per interval
    assert all("a" in m for _p, m in opened), opened


def test_the_dashboard_asks_only_for_metrics_watch_exports():
    import re

    from pipesight.exporters.series import SPECS

    dash = json.loads((Path(__file__).parent.parent / "docs" /
                       "grafana-pipesight-watch.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    names = {re.sub(r"_(sum|count|bucket)$", "", n)
             for e in exprs for n in re.findall(r"pipesight_[a-z_]+", e)}
    assert names and names <= set(SPECS), names - set(SPECS)
    titles = " ".join(p["title"] for p in dash["panels"])
    assert "Bottleneck over time" in titles and "Top elements" in titles


@needs_gst
@pytest.mark.skipif(shutil.which("prometheus") is None,
                    reason="Prometheus server not installed (Debian package prometheus)")
def test_a_real_prometheus_scrapes_the_bottleneck_change(tmp_path):
    """A Prometheus server (loopback, a free port, stopped by the test) scrapes watch on the
    switching pipeline; its HTTP API shows the bottleneck moving and rates that match the
    verdicts."""
    run, port, prom_port = tmp_path / "run", free_port(), free_port()
    cfg = tmp_path / "prometheus.yml"
    cfg.write_text("global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: watch\n"
                   f"    static_configs:\n      - targets: ['127.0.0.1:{port}']\n")
    prom = subprocess.Popen(["prometheus", f"--config.file={cfg}",
                             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                             f"--web.listen-address=127.0.0.1:{prom_port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    w = start_watch(run, "--interval", "2", "--prometheus", f"127.0.0.1:{port}", "--quiet",
                    "--name", "switch", cmd=[sys.executable, str(APPS / "switch_app.py"), "8"])

    def query(q: str) -> list[dict]:
        url = f"http://127.0.0.1:{prom_port}/api/v1/query?query=" + urllib.request.quote(q)
        with urllib.request.urlopen(url, timeout=5) as r:
            return json.loads(r.read())["data"]["result"]

    try:
        def current(element: str):
            try:
                res = query('pipesight_bottleneck{pipeline="switch"}')
            except OSError:
                return None
            return [x for x in res if x["metric"]["element"] == element] and res

        first = wait_for(lambda: current("slow_a"), 40)
        assert {x["metric"]["element"] for x in first} == {"slow_a"}
        later = wait_for(lambda: current("slow_b"), 60)
        assert {x["metric"]["element"] for x in later} == {"slow_b"}, "slow_a's series is gone"
        time.sleep(5)
        changes = query('pipesight_bottleneck_changes_total{pipeline="switch"}')
        assert float(changes[0]["value"][1]) >= 1
        rate = query('rate(pipesight_frames_total{pipeline="switch",role="sink"}[6s])')
        fps = [r["throughput_fps"] for r in intervals(run)[-3:] if r["throughput_fps"]]
        assert abs(float(rate[0]["value"][1]) - fps[-1]) < 0.25 * fps[-1], (rate, fps)
    finally:
        w.send_signal(signal.SIGINT)
        w.communicate(timeout=40)
        prom.terminate()
        prom.wait(20)


@needs_gst
def test_sources_coming_and_going_keep_series_bounded(tmp_path):
    """Twenty-odd source branches come and go (DeepStream's source-bin-N): label values stay
    capped, the departed sources' series are removed, and the series count does not grow."""
    run, port = tmp_path / "run", free_port()
    w = start_watch(run, "--interval", "1", "--prometheus", f"127.0.0.1:{port}", "--quiet",
                    "--name", "churn", "--max-label-values", "4",
                    cmd=[sys.executable, str(APPS / "churn_app.py"), "0.4"])
    counts, scrapes = [], []
    try:
        wait_for(lambda: len(intervals(run)) >= 3, 30)
        for _ in range(4):
            time.sleep(2.5)
            m = scrape(port)
            scrapes.append(m)
            counts.append(len(m))
    finally:
        w.send_signal(signal.SIGINT)
        w.communicate(timeout=40)
    assert w.returncode == 0
    for m in scrapes:
        for dim in ("element", "thread"):
            values = {v for k in m for v in re.findall(rf'{dim}="([^"]*)"', k)}
            assert len(values - {"other"}) <= 4, (dim, values)
            assert not any(v.isdigit() for v in values), "no thread ids as labels"
    last = scrapes[-1]
    assert not any('"cam0"' in k or '"cam1"' in k for k in last), "departed sources are gone"
    assert max(counts[1:]) <= counts[0] * 1.5, counts
    recs = intervals(run)
    assert recs[-1]["interval"] >= 10 and all(r["complete"] for r in recs)
    # the definitions of departed branches are forgotten (the tracer says when an element is
    # finalized): the last window defines the branches alive in it (up to 4 at its start and
    # those added in its second), not every one there was
    cams = [int(d["name"][3:]) for f in (run / "trace").glob("defs-*.jsonl")
            for d in map(json.loads, f.read_text().splitlines())
            if d.get("t") == "element" and re.fullmatch(r"cam\d+", str(d.get("name")))]
    assert max(cams) >= 10 and len(cams) <= 9 and min(cams) > max(cams) - 9, cams
