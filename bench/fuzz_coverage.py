"""Coverage-guided fuzzing of what pipesight reads from a file (issue 16): atheris (libFuzzer)
mutates the valid inputs of bench/fuzz_seeds.py toward code they have not reached yet, and
each input goes through `pipesight analyze` / `doctor` in-process, judged like the campaign's
(bench/fuzz_campaign.py: no internal error, no traceback, stderr only pipesight's one-line
messages). The random campaign covers run directories and Nsight exports; this one covers the
text inputs, where a mutation can find its way into a parser's corners, and one file at a
time of a run directory (the tracer's binary events file, its definitions, the /proc
samples), the rest of the run left as profile wrote it.

    pip install 'pipesight[fuzz]'
    python bench/fuzz_coverage.py --seconds 900 --out /tmp/pipesight-cov

An input is one byte choosing the family, then the file's bytes. A failing input is saved by
libFuzzer (OUT/crash-*), and replayed with ``--replay FILE``.
"""

from __future__ import annotations

import argparse
import io
import re
import shutil
import subprocess
import sys
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

# family -> the file name the input is written to, and pipesight's arguments for it
FAMILIES: list[tuple[str, str]] = [
    ("tracer-log", "gst.log"), ("tegrastats", "tegrastats.txt"), ("deepstream", "perf.log"),
    ("ds-config", "config_infer.txt"), ("dot", "pipeline.dot"), ("gst-debug", "debug.log"),
    ("ceiling", "trtexec.log"),
    # one file of a run directory replaced by the input, the rest as profile wrote it
    ("run-events", "trace/events-*.bin"), ("run-defs", "trace/defs-*.jsonl"),
    ("run-proc", "samples/proc.jsonl"),
]
MAX_LEN = 65536


def small_run(seeds: dict[str, list[Path]], where: Path) -> Path:
    """The run directory the run families' inputs go into: the first seed run with its events
    file cut to what one input may hold (as a crash leaves it: the reader takes the records
    that are whole), so that each input is judged in a fraction of a second. The run
    families' seeds are each seed run's own file of that kind."""
    if not where.exists():
        shutil.copytree(seeds["run"][0], where, ignore=shutil.ignore_patterns(
            "report.html", "trace.json", "verdict.json"))
        ev = next(where.glob("trace/events-*.bin"))
        ev.write_bytes(ev.read_bytes()[: MAX_LEN - 1])
    for fam, pattern in FAMILIES:
        if fam.startswith("run-"):
            seeds[fam] = [f for run in (where, *seeds["run"][1:])
                          for f in sorted(run.glob(pattern))[:1]]
    return where


def argv_for(fam: str, f: Path, tegra: Path) -> list[str]:
    if fam == "ceiling":
        return ["analyze", "--json", "--ceiling", str(f), str(tegra)]
    if fam in ("dot", "gst-debug", "ds-config"):
        return ["doctor", "--json", str(f)]
    return ["analyze", "--json", str(f)]


def make_corpus(seeds: dict[str, list[Path]], corpus: Path) -> int:
    """The seeds as inputs: the family's byte, then the file (its first MAX_LEN bytes)."""
    corpus.mkdir(parents=True, exist_ok=True)
    n = 0
    for i, (fam, _name) in enumerate(FAMILIES):
        for src in seeds.get(fam, []):
            if src.is_file():
                (corpus / f"{fam}-{src.name}").write_bytes(bytes([i]) + src.read_bytes()[
                    : MAX_LEN - 1])
                n += 1
    return n


def one_input(data: bytes, scratch: Path, tegra: Path, base_run: Path, cli, judge) -> str | None:
    """What is wrong with pipesight's answer to this input, or None. ``base_run``: the run
    directory that the run families' inputs go into."""
    if not data:
        return None
    fam, name = FAMILIES[data[0] % len(FAMILIES)]
    if fam.startswith("run-"):
        f = scratch / "run"
        shutil.rmtree(f, ignore_errors=True)
        shutil.copytree(base_run, f, ignore=shutil.ignore_patterns(
            "report.html", "trace.json", "verdict.json"))
        next(f.glob(name)).write_bytes(data[1:])
    else:
        f = scratch / name
        f.write_bytes(data[1:])
    argv = argv_for(fam, f, tegra)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = cli.main(argv)
    except SystemExit as e:
        rc = e.code if isinstance(e.code, int) else 2
    except Exception as e:  # anything escaping cli.main is the finding
        return f"escaped cli.main: {type(e).__name__}: {e}"
    return judge(argv, rc if isinstance(rc, int) else 0, out.getvalue(), err.getvalue())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=900)
    ap.add_argument("--out", type=Path, default=Path("/tmp/pipesight-cov"))
    ap.add_argument("--replay", type=Path, help="run one saved input and say what it gives")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    a, rest = ap.parse_known_args()
    import fuzz_seeds

    seeds = fuzz_seeds.make(a.out / "seeds")
    tegra, base_run = seeds["tegrastats"][0], small_run(seeds, a.out / "base-run")
    if not a.child and a.replay is None:
        return _drive(a, seeds)
    import atheris

    with atheris.instrument_imports(include=["pipesight"]):
        from pipesight import cli

        _import_all()
    from fuzz_campaign import judge

    scratch = Path(tempfile.mkdtemp(prefix="pipesight-cov-"))
    if a.replay is not None:
        problem = one_input(a.replay.read_bytes(), scratch, tegra, base_run, cli, judge)
        print(problem or "no problem")
        return 0

    def test_one_input(data: bytes) -> None:
        problem = one_input(data, scratch, tegra, base_run, cli, judge)
        if problem:
            raise RuntimeError(problem)  # libFuzzer keeps the input as crash-*

    atheris.Setup([sys.argv[0], *rest], test_one_input)
    atheris.Fuzz()
    return 0


# what analyze and doctor run on a file: imported up front so that atheris instruments it
# (the commands import their modules only when called)
PACKAGES = ["commands", "workflows", "readers", "trace", "metrics", "analyses", "verdict",
            "render", "doctor", "lint", "compare", "tracer"]


def _import_all() -> None:
    import importlib
    import pkgutil


    for pkg in PACKAGES:
        mod = importlib.import_module(f"pipesight.{pkg}")
        for info in pkgutil.walk_packages(mod.__path__, f"pipesight.{pkg}."):
            importlib.import_module(info.name)


def _drive(a: argparse.Namespace, seeds: dict[str, list[Path]]) -> int:
    """libFuzzer in a child (it exits the process when done), its last lines read back."""
    corpus = a.out / "corpus"
    n = make_corpus(seeds, corpus)
    cmd = [sys.executable, __file__, "--child", "--out", str(a.out),
           f"-max_total_time={a.seconds}", "-timeout=30", "-rss_limit_mb=4096",
           f"-max_len={MAX_LEN}", f"-artifact_prefix={a.out}/", "-print_final_stats=1",
           str(corpus)]
    print(f"{n} seed inputs; fuzzing for {a.seconds} s", flush=True)
    log = a.out / "libfuzzer.log"
    with open(log, "w") as f:
        rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT).returncode
    text = log.read_text(errors="replace")
    done = [ln for ln in text.splitlines() if re.match(r"#\d+\s+(DONE|pulse|NEW|REDUCE)", ln)]
    stats = [ln for ln in text.splitlines() if ln.startswith("stat::")]
    crashes = sorted(p.name for p in a.out.glob("crash-*")) + sorted(
        p.name for p in a.out.glob("timeout-*"))
    print(done[-1] if done else "(libFuzzer printed no progress line)")
    print("\n".join(stats))
    print(f"exit {rc}; failing inputs kept: {len(crashes)} {crashes[:5]}")
    if crashes:
        shutil.copy(log, a.out / "failing-libfuzzer.log")
    return 0 if rc == 0 and not crashes else 1


if __name__ == "__main__":
    sys.exit(main())
