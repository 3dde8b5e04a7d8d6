"""A DeepStream app's console output: its ``**PERF:`` FPS prints and its latency-measurement
prints, which deepstream-app writes to the same stream."""

from __future__ import annotations

from pathlib import Path

from pipesight.errors import UserError
from pipesight.readers import ds_latency, ds_perf
from pipesight.readers.text import clean_line, read_text_lines
from pipesight.trace import Trace
from pipesight.trace.samples import Samples


def looks_like_deepstream(head: bytes) -> bool:
    text = "\n".join(clean_line(x) for x in head.decode("utf-8", "replace").splitlines())
    return ds_perf.looks_like_perf(text) or ds_latency.looks_like_latency(text)


def read_lines(lines: list[str], what: str) -> Samples | None:
    """The PERF and latency prints among ``lines`` (any other output is passed over);
    None where there are none."""
    perf = ds_perf.parse(lines)
    lat = ds_latency.parse(lines)
    if not perf.prints and not lat.batches:
        return None
    parts = []
    if perf.prints:
        parts.append(ds_perf.to_samples(perf, what))
    elif perf.malformed:
        parts.append(Samples(notes=[f"{what}: {perf.malformed} PERF lines, none readable"]))
    if lat.batches:
        parts.append(ds_latency.to_samples(lat, what))
    s = Samples()
    for p in parts:
        s.extend(p)
    # each kind of print keeps its own time base; say so when both are there
    s.origin = " and ".join(p.origin for p in parts if p.series) or s.origin
    return s


def load(path: Path) -> Trace:
    lines = read_text_lines(path)
    s = read_lines(lines, path.name)
    if s is None:
        raise UserError(f"{path}: looks like DeepStream output but holds no readable PERF or "
                        "latency prints")
    t = Trace()
    t.samples = s
    t.inputs.append(f"DeepStream output {path}")
    t.notes.extend(s.notes)
    return t
