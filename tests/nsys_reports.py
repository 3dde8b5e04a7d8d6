"""Parsers for Nsight Systems' own report outputs (``nsys stats`` / ``nsys analyze`` with
``--format csv``), as bench/gpu/capture_nsys_fixtures.sh lays them out under
tests/fixtures/nsys/reports/NAME/TAG/. File names differ between nsys versions, so a table is
found by its header's columns, not by its file name."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

_UNIT = re.compile(r"\((ns|us|µs|ms|s)\)")
_SCALE = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


@dataclass
class Table:
    path: Path
    header: list[str]
    rows: list[list[str]]

    def col(self, prefix: str) -> int:
        for i, h in enumerate(self.header):
            if h.strip().lower().startswith(prefix.lower()):
                return i
        raise KeyError(f"{self.path}: no column {prefix!r} in {self.header}")

    def has(self, prefix: str) -> bool:
        try:
            self.col(prefix)
            return True
        except KeyError:
            return False

    def ns(self, row: list[str], prefix: str) -> int:
        """A time column in nanoseconds, whatever unit its header names."""
        i = self.col(prefix)
        m = _UNIT.search(self.header[i])
        scale = _SCALE[m.group(1)] if m else 1
        return round(float(row[i].replace(",", "")) * scale)

    def num(self, row: list[str], prefix: str) -> float:
        return float(row[self.col(prefix)].replace(",", ""))

    def text(self, row: list[str], prefix: str) -> str:
        return row[self.col(prefix)]


def tables(path: Path) -> list[Table]:
    """Every CSV table in a file: a header row followed by rows of the same width (notices
    and advice text around them are skipped)."""
    out: list[Table] = []
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    parsed = [next(csv.reader(io.StringIO(ln)), []) if ln.strip() else [] for ln in lines]
    i = 0
    while i < len(parsed):
        row = parsed[i]
        if len(row) >= 3 and not any(_is_number(c) for c in row):
            body = []
            j = i + 1
            while j < len(parsed) and len(parsed[j]) == len(row):
                body.append(parsed[j])
                j += 1
            if body or j == len(parsed) or not parsed[j]:
                out.append(Table(path, row, body))
                i = j
                continue
        i += 1
    return out


def _is_number(s: str) -> bool:
    try:
        float(s.replace(",", ""))
        return True
    except ValueError:
        return False


def find(folder: Path, *columns: str, without: tuple[str, ...] = ()) -> Table | None:
    """The first table under folder (any CSV file, any depth) with these columns."""
    if not folder.exists():
        return None
    for f in sorted(folder.rglob("*.csv")):
        for t in tables(f):
            if all(t.has(c) for c in columns) and not any(t.has(c) for c in without):
                return t
    return None


def found_nothing(folder: Path, rule: str) -> bool:
    """Whether nsys analyze said it ran ``rule`` into this folder and found nothing: it then
    leaves an empty file and prints "PROCESSED (EMPTY RESULTS)" (kept in FOLDER.stdout)."""
    log = folder.with_name(folder.name + ".stdout")
    if not log.exists():
        return False
    return any(f"/{rule}.py]" in ln and f"{folder.name}/" in ln and "(EMPTY RESULTS)" in ln
               for ln in log.read_text(encoding="utf-8", errors="replace").splitlines())


def gaps(folder: Path) -> list[tuple[int, int, int, int]] | None:
    """gpu_gaps rows: (pid, device, start ns, duration ns), sorted; [] where nsys found no
    gap, None where the report is missing."""
    if found_nothing(folder, "gpu_gaps"):
        return []
    return _gaps(find(folder, "Duration", "Start", "PID", "Device", without=("In-Use",)))


def gaps_in(path: Path) -> list[tuple[int, int, int, int]] | None:
    """gpu_gaps rows from one file (a console copy)."""
    cols = ("Duration", "Start", "PID", "Device")
    return _gaps(next((t for t in tables(path) if all(t.has(c) for c in cols)
                       and not t.has("In-Use")), None))


def _gaps(t: Table | None) -> list[tuple[int, int, int, int]] | None:
    if t is None:
        return None
    return sorted((int(t.num(r, "PID")), int(t.num(r, "Device")), t.ns(r, "Start"),
                   t.ns(r, "Duration")) for r in t.rows)


def time_util(folder: Path) -> list[tuple[int, int, int, int, float]] | None:
    """gpu_time_util rows: (pid, device, start ns, duration ns, in-use %), sorted; [] where
    nsys found no chunk under its threshold, None where the report is missing."""
    if found_nothing(folder, "gpu_time_util"):
        return []
    t = find(folder, "In-Use", "Duration", "Start", "PID", "Device")
    if t is None:
        return None
    return sorted((int(t.num(r, "PID")), int(t.num(r, "Device")), t.ns(r, "Start"),
                   t.ns(r, "Duration"), t.num(r, "In-Use")) for r in t.rows)


def kern_sum(folder: Path) -> dict[str, dict[str, float]] | None:
    """cuda_gpu_kern_sum: per kernel name, total/instances/avg/med/min/max (ns)."""
    t = find(folder, "Total Time", "Instances", "Name", "Med")
    if t is None:
        return None
    return {t.text(r, "Name"): {"total": t.ns(r, "Total Time"), "instances": int(t.num(
        r, "Instances")), "avg": t.ns(r, "Avg"), "med": t.ns(r, "Med"),
        "min": t.ns(r, "Min"), "max": t.ns(r, "Max")} for r in t.rows}
