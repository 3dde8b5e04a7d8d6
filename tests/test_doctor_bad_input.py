"""Garbage in: one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

from doctor_helpers import doctor


def check(r, words: str) -> None:
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr and r.stdout == ""
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0], lines


def test_binary_file(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(bytes(range(256)) * 64)
    check(doctor(str(f)), "binary file")


def test_empty_file(tmp_path):
    f = tmp_path / "empty.log"
    f.write_text("")
    check(doctor(str(f)), "empty")


def test_another_programs_log(tmp_path):
    f = tmp_path / "syslog"
    f.write_text("Nov 27 01:00:00 host systemd[1]: Started Session 4 of user root.\n" * 50)
    check(doctor(str(f)), "neither a GStreamer debug log")


def test_missing_path_and_empty_dir(tmp_path):
    check(doctor(str(tmp_path / "nope.log")), "no such file")
    check(doctor(str(tmp_path)), "without anything doctor reads")


def test_usage_mistakes(tmp_path):
    check(doctor(), "give a file or run directory")
    check(doctor("--"), "no command given")
    check(doctor("--stall", "0", "x"), "--stall must be positive")
