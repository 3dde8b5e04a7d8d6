"""Checks a trace.json against the Chrome trace event format (JSON object form) as Perfetto
and chrome://tracing read it: phases, microsecond timestamps, pid/tid, counters, metadata,
and complete ("X") slices that nest properly on each thread."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

PHASES = {"X", "C", "M", "i", "I", "B", "E"}
METADATA = {"process_name", "thread_name", "process_sort_index", "thread_sort_index"}
EPS_US = 0.0015  # timestamps are written to the nanosecond


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def check(doc: Any) -> list[str]:
    """Every violation found (empty: the document conforms)."""
    errs: list[str] = []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        return ["not an object with a traceEvents list"]
    if doc.get("displayTimeUnit") not in (None, "ms", "ns"):
        errs.append(f"displayTimeUnit {doc.get('displayTimeUnit')!r}")
    named_pids: set[int] = set()
    named_threads: set[tuple[int, int]] = set()
    slices: dict[tuple[int, int], list[tuple[float, float, str]]] = defaultdict(list)
    pids: set[int] = set()
    for i, e in enumerate(doc["traceEvents"]):
        where = f"event {i}"
        if not isinstance(e, dict):
            errs.append(f"{where}: not an object")
            continue
        ph = e.get("ph")
        if ph not in PHASES:
            errs.append(f"{where}: phase {ph!r}")
            continue
        if not isinstance(e.get("name"), str):
            errs.append(f"{where}: name missing")
        if not isinstance(e.get("pid"), int):
            errs.append(f"{where}: pid {e.get('pid')!r}")
            continue
        pid = e["pid"]
        if ph == "M":
            if e["name"] not in METADATA:
                errs.append(f"{where}: metadata {e['name']!r}")
            args = e.get("args") or {}
            if e["name"].endswith("_name") and not isinstance(args.get("name"), str):
                errs.append(f"{where}: {e['name']} without args.name")
            if e["name"].endswith("sort_index") and not isinstance(args.get("sort_index"), int):
                errs.append(f"{where}: {e['name']} without an integer sort_index")
            if e["name"] == "process_name":
                named_pids.add(pid)
            if e["name"] == "thread_name":
                named_threads.add((pid, e.get("tid")))
            continue
        if not _number(e.get("ts")) or e["ts"] < 0:
            errs.append(f"{where}: ts {e.get('ts')!r}")
            continue
        pids.add(pid)
        if ph == "C":
            args = e.get("args")
            if not isinstance(args, dict) or not args or not all(
                    _number(v) or v is None for v in args.values()):
                errs.append(f"{where}: counter args {args!r}")
        elif ph == "X":
            if not isinstance(e.get("tid"), int):
                errs.append(f"{where}: tid {e.get('tid')!r}")
                continue
            if not _number(e.get("dur")) or e["dur"] < 0:
                errs.append(f"{where}: dur {e.get('dur')!r}")
                continue
            if "args" in e and not isinstance(e["args"], dict):
                errs.append(f"{where}: args not an object")
            slices[(pid, e["tid"])].append((float(e["ts"]), float(e["ts"]) + e["dur"],
                                            e["name"]))
    for pid in pids - named_pids:
        errs.append(f"pid {pid} has events but no process_name")
    for key, lst in slices.items():
        if key not in named_threads:
            errs.append(f"thread {key} has slices but no thread_name")
        lst.sort(key=lambda s: (s[0], -s[1]))
        stack: list[tuple[float, float, str]] = []
        for s in lst:
            while stack and stack[-1][1] <= s[0] + EPS_US:
                stack.pop()
            if stack and s[1] > stack[-1][1] + EPS_US:
                errs.append(f"thread {key}: {s} overlaps {stack[-1]} without nesting")
                break
            stack.append(s)
    return errs
