"""The inputs whose verdicts are kept as golden files (tests/golden/*.json), and how a verdict
is made comparable: what a machine or a moment puts in it (paths, dates, hosts) is left out,
floats are rounded to 6 significant digits.

    .venv/bin/python tests/golden_inputs.py --write     # after a change meant to alter verdicts:
                                                       # review `git diff tests/golden` first
"""

from __future__ import annotations

import json
import lzma
import shutil
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
FIX = HERE / "fixtures"
GOLDEN = HERE / "golden"
CORPUS = HERE.parent.parent / "shared" / "corpus"


def inputs(tmp: Path) -> Iterator[tuple[str, Path]]:
    """(name, path to analyze) for every committed fixture and corpus file analyze reads."""
    for p in sorted((FIX / "nsys").glob("*.sqlite")):
        yield f"nsys-{p.stem}", p
    yield "gpu-naive", FIX / "gpu" / "naive.sqlite"
    tuned = tmp / "tuned.sqlite"
    with lzma.open(FIX / "gpu" / "tuned.sqlite.xz") as src, open(tuned, "wb") as dst:
        shutil.copyfileobj(src, dst)
    yield "gpu-tuned", tuned
    for name in ("naive", "tuned"):
        with tarfile.open(FIX / "gst_gpu" / f"{name}-run.tar.xz") as t:
            t.extractall(tmp / "gst_gpu", filter="data")
        with lzma.open(FIX / "gst_gpu" / f"{name}-nsys.sqlite.xz") as src, \
                open(tmp / "gst_gpu" / name / "nsys.sqlite", "wb") as dst:
            shutil.copyfileobj(src, dst)
        yield f"gst-gpu-{name}", tmp / "gst_gpu" / name
    for p in sorted((FIX / "runs").glob("*.tar.xz")):
        with tarfile.open(p) as t:
            t.extractall(tmp / "runs", filter="data")
        yield f"run-{p.name.removesuffix('.tar.xz')}", tmp / "runs" / p.name.removesuffix(
            ".tar.xz")
    if CORPUS.is_dir():
        for sub in ("nsys", "deepstream"):
            for p in sorted((CORPUS / sub).iterdir()):
                if p.suffix in (".sqlite", ".txt", ".log") and "gstdebug" not in p.name:
                    yield f"corpus-{p.stem}", p
        yield "corpus-podborski", CORPUS / "gst" / "podborski_latency_traces.log"


VOLATILE = {"run", "inputs"}


def comparable(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: comparable(x) for k, x in v.items() if k not in VOLATILE}
    if isinstance(v, list):
        return [comparable(x) for x in v]
    if isinstance(v, float):
        return float(f"{v:.6g}")
    return v


def verdict_of(path: Path) -> dict:
    from pipesight.workflows.answer import analyze_path

    _, _, v, _ = analyze_path(path)
    return comparable(v.to_dict())


def main() -> int:
    import tempfile

    if "--write" not in sys.argv:
        print(__doc__)
        return 2
    GOLDEN.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as t:
        for name, path in inputs(Path(t)):
            out = GOLDEN / f"{name}.json"
            out.write_text(json.dumps(verdict_of(path), indent=1, sort_keys=True) + "\n")
            print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
