"""Default run directories never collide, and doctor takes its options after the paths as the
other subcommands do."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import needs_gst
from doctor_helpers import doctor

SHORT = ["gst-launch-1.0", "videotestsrc", "num-buffers=5", "!", "fakesink"]


@needs_gst
def test_two_runs_started_together_get_their_own_directories(tmp_path):
    # started at the same instant, so in the same second: the old DATE-TIME-NAME clashed
    procs = [subprocess.Popen([sys.executable, "-m", "pipesight", "profile", "--json", "--",
                               *SHORT], cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    outs = [p.communicate(timeout=120) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        assert p.returncode == 0, err
    runs = sorted((tmp_path / "pipesight-runs").iterdir())
    assert len(runs) == 3
    for run in runs:
        manifest = json.loads((run / "manifest.json").read_text())
        assert manifest["exit_code"] == 0 and (run / "verdict.json").exists()
        assert run.name.split("-")[2] == "gst"  # DATE-TIME-gst-launch-1.0-XXXX


def test_a_command_that_is_not_found_leaves_no_directory(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pipesight", "profile", "--", "no-such-cmd-x"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 127
    assert not any((tmp_path / "pipesight-runs").iterdir())


def test_doctor_options_after_the_paths(tmp_path):
    log = tmp_path / "gst.log"
    log.write_text("ERROR: from element /GstPipeline:pipeline0/GstFileSrc:filesrc0: Resource "
                   "not found.\nAdditional debug info:\n../plugins/elements/gstfilesrc.c(557): "
                   "gst_file_src_start (): /GstPipeline:pipeline0/GstFileSrc:filesrc0:\n"
                   "No such file \"/nope.mp4\"\n")
    after = doctor(str(log), "--json")
    before = doctor("--json", str(log))
    assert after.returncode == before.returncode == 0, after.stderr
    assert json.loads(after.stdout)["findings"] == json.loads(before.stdout)["findings"]
    assert json.loads(after.stdout)["findings"][0]["code"] == "resource-not-found"
    # options meant for -- COMMAND are still refused with one line
    r = doctor(str(log), "--stall", "3")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1
