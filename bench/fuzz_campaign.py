"""The long fuzz campaign of issue 16: damaged variants of valid inputs of every kind, through
`pipesight analyze` and `pipesight doctor` (and `--ceiling`), counting internal errors (exit
70), hangs (no answer within --limit seconds, 30 by default) and bad output (with --json: not
one JSON document on stdout, or stderr lines that are not pipesight's one-line messages;
without: a control or bidi character on the terminal).

    python bench/fuzz_campaign.py --inputs 100000 --workers 2 --out /tmp/pipesight-fuzz

Each input is (family, seed, mutation seed): reproducible with ``--replay FAMILY:SEED:N``.
Inputs that failed are kept under OUT/failures/. Workers import pipesight once and run
``cli.main`` in-process (a fresh interpreter per input would spend most of the time starting
up); a worker that does not answer in time is killed and replaced.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import fuzz_mutators as mut
import fuzz_seeds

# how often each family is drawn: run directories hold most readers
WEIGHTS = {"tracer-log": 12, "tegrastats": 10, "deepstream": 10, "nsys": 6, "ds-config": 10,
           "dot": 10, "gst-debug": 10, "ceiling": 6, "run": 26}
RUN_FILES = ["manifest.json", "samples/proc.jsonl", "samples/nvml.jsonl",
             "samples/tegrastats.jsonl", "trace/defs-*.jsonl", "trace/events-*.bin",
             "trace/pycb-*.bin", "trace/pycb-*.jsonl", "gst.log", "stdout.log", "stderr.log",
             "dot/*.dot", "verdict.json", "doctor/hang.json"]
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


# ---------------------------------------------------------------- one input

def materialize(job: dict, seeds: dict[str, list[Path]], where: Path) -> list[str]:
    """Write the job's damaged input under ``where``; return pipesight's arguments."""
    fam, si, n = job["family"], job["seed"], job["n"]
    r = random.Random(f"{fam}:{si}:{n}")
    src = seeds[fam][si % len(seeds[fam])]
    where.mkdir(parents=True)
    others = seeds[fam]
    other = others[r.randrange(len(others))]
    if fam == "run":
        d = where / "run"
        shutil.copytree(src, d, ignore=shutil.ignore_patterns("report.html", "trace.json"))
        (d / "verdict.json").unlink(missing_ok=True) if r.random() < 0.5 else None
        for _ in range(r.choice([1, 1, 1, 2, 3])):
            _damage_run(d, r)
        how = r.random()
        if how < 0.55:
            return ["analyze", "--json", str(d)]
        if how < 0.85:
            return ["doctor", "--json", str(d)]
        if how < 0.9:
            return ["report", str(d), "-o", str(where / "report.html")]
        if how < 0.93:
            return ["compare", "--json", str(src), str(d)]
        return ["analyze", str(d)]
    if fam == "nsys":
        f = where / src.name
        shutil.copy(src, f)
        mut.mutate_sqlite(f, r)
        return ["analyze", "--json", str(f)]
    if fam == "ds-config":
        shutil.copytree(src.parent, where / "ds")
        target = where / "ds" / (src.name if r.random() < 0.7 else
                                 r.choice(["pgie_fp32_b1.txt", "pgie_fp16_b2.txt",
                                           "sgie_classifier.txt"]))
        target.write_bytes(mut.mutate_text(target.read_bytes(), r))
        return ["doctor", "--json", str(where / "ds" / src.name)]
    f = where / src.name
    data = src.read_bytes()
    f.write_bytes(mut.mutate_text(data, r, other.read_bytes() if other.is_file() else None)
                  if not src.name.endswith(".json") or r.random() < 0.5
                  else mut.whole_json(data, r))
    if fam == "ceiling":
        log = seeds["tegrastats"][0]
        return ["analyze", "--json", "--ceiling", str(f), str(log)]
    if fam == "dot" and r.random() < 0.1:
        return ["graph", str(f), "-o", str(where / "graph.svg")]
    if fam in ("dot", "gst-debug"):
        return ["doctor", "--json", str(f)] if r.random() < 0.9 else ["doctor", str(f)]
    return ["analyze", "--json", str(f)] if r.random() < 0.9 else ["analyze", str(f)]


def _damage_run(d: Path, r: random.Random) -> None:
    pattern = r.choice(RUN_FILES)
    files = [f for f in sorted(d.glob(pattern)) if f.is_file()]  # not a FIFO made before
    if not files:
        return
    f = r.choice(files)
    what = r.random()
    if what < 0.04:
        f.unlink()
    elif what < 0.06:
        f.unlink()
        os.mkfifo(f)  # a pipe where a file should be: nothing writes to it
    elif what < 0.08:
        f.unlink()
        f.mkdir()
    elif what < 0.10:
        f.write_bytes(b"")
    elif f.suffix == ".bin" and f.name.startswith("events"):
        f.write_bytes(mut.mutate_events(f.read_bytes(), r))
    elif f.suffix == ".bin":
        f.write_bytes(mut.flip_bytes(f.read_bytes(), r) if r.random() < 0.5
                      else mut.truncate(f.read_bytes(), r))
    elif f.name in ("manifest.json", "verdict.json", "hang.json") and r.random() < 0.6:
        f.write_bytes(mut.whole_json(f.read_bytes(), r))
    else:
        f.write_bytes(mut.mutate_text(f.read_bytes(), r))


def judge(argv: list[str], rc: int, out: str, err: str) -> str | None:
    """None when the output is what a user may get; else what is wrong."""
    if rc == 70 or "internal error" in err:
        return "internal error: " + err.strip().splitlines()[-1][:300] if err.strip() else "70"
    if "Traceback" in err or "Traceback" in out:
        return "traceback"
    err_lines = [ln for ln in err.splitlines() if ln.strip()]
    if any(not ln.startswith("pipesight: ") for ln in err_lines):
        return "stderr holds more than pipesight's one-line messages"
    if UNSAFE.search(err):
        return "a control character in stderr"
    if rc not in (0, 2, 3, 4):
        return f"exit {rc}"
    if rc == 2:
        if len(err_lines) != 1:
            return f"exit 2 with {len(err_lines)} lines on stderr"
        if out.strip():
            return "exit 2 with output on stdout"
        return None
    if "--json" in argv:
        try:
            json.loads(out)
        except (json.JSONDecodeError, ValueError):
            return "stdout is not one JSON document"
        if UNSAFE.search(out):
            return "a control character in the JSON"
    elif UNSAFE.search(out):
        return "a control character on the terminal"
    return None


# ---------------------------------------------------------------- the worker

def worker(results_fd: int, seeds_dir: Path, scratch: Path) -> None:
    from pipesight import cli

    seeds = fuzz_seeds.make(seeds_dir)
    results = os.fdopen(results_fd, "w", buffering=1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (1, 2):  # children's output (nsys, graphviz) never mixes with results
        os.dup2(devnull, fd)
    os.environ["PIPESIGHT_PIPE_TIMEOUT"] = "2"
    for line in sys.stdin:
        job = json.loads(line)
        where = scratch / f"job-{os.getpid()}-{job['i']}"
        argv = materialize(job, seeds, where)
        out, err = io.StringIO(), io.StringIO()
        t0 = time.monotonic()
        try:
            with redirect_stdout(out), redirect_stderr(err):
                rc = cli.main(argv)
        except SystemExit as e:
            rc = int(e.code or 0) if isinstance(e.code, int) else 2
        except BaseException as e:
            rc, err = 70, io.StringIO(f"escaped cli.main: {type(e).__name__}: {e}")
        dt = time.monotonic() - t0
        problem = judge(argv, rc, out.getvalue(), err.getvalue())
        results.write(json.dumps({"i": job["i"], "rc": rc, "s": round(dt, 4),
                                  "problem": problem, "argv": argv}) + "\n")
        if problem is None:
            shutil.rmtree(where, ignore_errors=True)


class Worker:
    def __init__(self, args: argparse.Namespace) -> None:
        r, w = os.pipe()

        with open(args.out / "worker.log", "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, __file__, "--worker", str(w), "--seeds", str(args.seeds),
                 "--out", str(args.out)], stdin=subprocess.PIPE, pass_fds=(w,),
                stdout=subprocess.DEVNULL, stderr=log, text=True,
                preexec_fn=lambda: os.nice(args.nice) and None)
        os.close(w)
        self.results = os.fdopen(r, "r")
        self.job: dict | None = None
        self.started = 0.0
        self.done = 0

    def give(self, job: dict) -> None:
        self.job, self.started = job, time.monotonic()
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(job) + "\n")
        self.proc.stdin.flush()

    def kill(self) -> None:
        self.proc.kill()  # also what a hung input needs
        self.proc.wait()
        self.results.close()


def campaign(args: argparse.Namespace) -> dict:
    import select

    seeds = fuzz_seeds.make(args.seeds)
    (args.out / "failures").mkdir(parents=True, exist_ok=True)
    scratch = args.out / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    fams = [f for f, w in WEIGHTS.items() for _ in range(w)]
    rng = random.Random(args.seed)
    jobs = [{"i": i, "family": (fam := rng.choice(fams)),
             "seed": rng.randrange(len(seeds[fam])), "n": args.seed * 10_000_000 + i}
            for i in range(args.inputs)]
    todo = list(reversed(jobs))
    workers = [Worker(args) for _ in range(args.workers)]
    stats: dict[str, Counter] = defaultdict(Counter)
    times: dict[str, float] = defaultdict(float)
    failures: list[dict] = []
    t0 = time.monotonic()
    done = 0
    for w in workers:
        if todo:
            w.give(todo.pop())
    while any(w.job is not None for w in workers):
        ready, _, _ = select.select([w.results for w in workers if w.job], [], [], 1.0)
        now = time.monotonic()
        for w in workers:
            if w.job is None:
                continue
            if w.results in ready:
                line = w.results.readline()
                if not line:  # the worker died: what it was doing is a crash
                    res = {"i": w.job["i"], "rc": -1, "s": now - w.started,
                           "problem": "the worker died", "argv": []}
                    w.kill()
                else:
                    res = json.loads(line)
            elif now - w.started > args.limit:
                res = {"i": w.job["i"], "rc": None, "s": now - w.started,
                       "problem": f"hang: no answer in {args.limit:g} s", "argv": []}
                w.kill()
            else:
                continue
            job = w.job
            fam = job["family"]
            stats[fam]["inputs"] += 1
            stats[fam][f"exit {res['rc']}"] += 1
            times[fam] += res["s"]
            if res["problem"]:
                kind = ("hang" if res["problem"].startswith("hang") else "internal"
                        if res["problem"].startswith(("internal", "escaped", "the worker"))
                        else "bad-output")
                stats[fam][kind] += 1
                failures.append({**job, **res, "kind": kind})
                _keep(job, seeds, args.out)
            done += 1
            if w.proc.poll() is not None or w.results.closed:
                workers[workers.index(w)] = w = Worker(args)
            w.done += 1
            w.job = None
            if w.done >= args.recycle:  # a long-lived interpreter grows: start afresh
                w.kill()
                workers[workers.index(w)] = w = Worker(args)
            if todo:
                w.give(todo.pop())
            if done % args.report_every == 0:
                _progress(done, args.inputs, stats, t0)
    for w in workers:
        w.kill()
    return _summary(args, stats, times, failures, time.monotonic() - t0)


def _keep(job: dict, seeds: dict[str, list[Path]], out: Path) -> None:
    """The failing input, made again from its job (deterministic) for a human to look at."""
    d = out / "failures" / f"{job['family']}-{job['seed']}-{job['n']}"
    shutil.rmtree(d, ignore_errors=True)
    try:
        argv = materialize(job, seeds, d)
        (d / "argv.json").write_text(json.dumps(argv))
    except Exception as e:
        (d / "error.txt").write_text(repr(e))


def _progress(done: int, total: int, stats: dict[str, Counter], t0: float) -> None:
    bad = sum(c["internal"] + c["hang"] + c["bad-output"] for c in stats.values())
    print(f"{done}/{total} inputs, {bad} problems, {time.monotonic() - t0:.0f} s",
          file=sys.stderr, flush=True)


def _summary(args: argparse.Namespace, stats: dict[str, Counter], times: dict[str, float],
             failures: list[dict], wall: float) -> dict:
    import platform

    total = Counter()
    for c in stats.values():
        total.update(c)
    summary = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.node()}: {os.cpu_count()} CPUs, {platform.platform()}",
        "inputs": total["inputs"], "internal_errors": total["internal"], "hangs": total["hang"],
        "bad_output": total["bad-output"], "limit_s": args.limit, "workers": args.workers,
        "wall_s": round(wall, 1), "seed": args.seed,
        "families": {f: {**dict(c), "mean_s": round(times[f] / max(c["inputs"], 1), 4)}
                     for f, c in sorted(stats.items())},
        "failures": failures[:200],
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def replay(args: argparse.Namespace) -> int:
    from pipesight import cli

    fam, seed, n = args.replay.split(":")
    seeds = fuzz_seeds.make(args.seeds)
    where = args.out / "replay"
    shutil.rmtree(where, ignore_errors=True)
    argv = materialize({"family": fam, "seed": int(seed), "n": int(n), "i": 0}, seeds, where)
    print("pipesight", " ".join(argv), file=sys.stderr)
    return cli.main(argv)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--inputs", type=int, default=100_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--limit", type=float, default=30.0, help="seconds per input")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--nice", type=int, default=19)
    p.add_argument("--recycle", type=int, default=2000, help="inputs per worker interpreter")
    p.add_argument("--report-every", type=int, default=1000)
    p.add_argument("--out", type=Path, default=Path("/tmp/pipesight-fuzz"))
    p.add_argument("--seeds", type=Path, default=None)
    p.add_argument("--replay", metavar="FAMILY:SEED:N")
    p.add_argument("--worker", type=int, metavar="FD", help=argparse.SUPPRESS)
    args = p.parse_args()
    args.seeds = args.seeds or args.out / "seeds"
    if args.worker is not None:
        worker(args.worker, args.seeds, args.out / "scratch")
        return 0
    if args.replay:
        return replay(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    s = campaign(args)
    print(json.dumps({k: v for k, v in s.items() if k != "failures"}, indent=2))
    return 1 if s["internal_errors"] or s["hangs"] or s["bad_output"] else 0


if __name__ == "__main__":
    sys.exit(main())
