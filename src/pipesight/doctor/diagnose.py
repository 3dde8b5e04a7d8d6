"""From everything doctor read to a Verdict: every explanation and lint rule, ranked, with the
root cause first; ERROR lines nothing explained are still reported, quoted."""

from __future__ import annotations

import re
from collections.abc import Callable

from pipesight.doctor import construction, hangs, output_files, runtime, states, timestamps
from pipesight.doctor.evidence import finish, quote
from pipesight.doctor.inputs import DoctorInput
from pipesight.findings import Bottleneck, Finding, Verdict
from pipesight.lint import config as lint_config
from pipesight.lint import graph as lint_graph
from pipesight.readers.gst_debug_log import LogRecord

Explainer = Callable[[DoctorInput], list[Finding]]
FLOW_ERROR = re.compile(r"streaming stopped, reason error \(-5\)")
EXPLAINERS: list[Explainer] = [construction.analyze, runtime.analyze, timestamps.analyze,
                               hangs.analyze, states.analyze, output_files.analyze]
# a failure to build comes before what follows from it; lint last
_ORDER = {"missing-element": 0, "plugin-load-failed": 1, "no-property": 1,
          "bad-property-value": 1, "link-failed": 1, "resource-not-found": 2,
          "resource-busy": 2, "resource-denied": 2, "resource-error": 2, "not-negotiated": 3,
          "not-linked": 3, "no-timestamps": 3, "hang-lock": 4, "hang-buffer-pool": 4,
          "hang-preroll": 4, "hang-app-sink": 4, "hang-app-source": 4, "hang-aggregator": 4,
          "hang-clock": 4, "hang-full-queue": 4, "hang-unknown": 4, "hang-idle": 4,
          "pipeline-hang": 4, "never-playing": 5, "pipeline-error": 6, "output-empty": 6,
          "late-buffers-dropped": 7}


def diagnose(inp: DoctorInput) -> Verdict:
    findings: list[Finding] = []
    for ex in EXPLAINERS:
        findings.extend(ex(inp))
    if any(f.code.startswith("hang-") for f in findings):
        # the stacks explain the hang better than a state that never completed
        findings = [f for f in findings if f.code != "never-playing"]
    findings.extend(_unexplained_errors(inp, findings))
    findings.extend(_lint(inp))
    findings = _dedupe(findings)
    findings.sort(key=lambda f: (_ORDER.get(f.code, 8), {"critical": 0, "warning": 1,
                                                         "info": 2}[f.severity]))
    top = next((f for f in findings if f.severity != "info"), None)
    if top is not None:
        b = Bottleneck("unknown", top.element, None, top.confidence, top.title)
    else:
        b = Bottleneck("unknown", None, None, "none",
                       "No failure, hang or known performance trap found in what was read.")
    seen, not_seen = _coverage(inp)
    run = dict(inp.manifest)
    run["doctor"] = {"benchmark": inp.benchmark, "notes": inp.notes,
                     "log_lines": inp.log.lines, "other_program_lines": inp.log.other_lines,
                     "hang": inp.hang.reason if inp.hang else None}
    return Verdict(throughput_fps=None, window_start_s=None, window_end_s=None, bottleneck=b,
                   findings=findings, elements=[], inputs=list(inp.inputs), seen=seen,
                   not_seen=not_seen, run=run)


def _unexplained_errors(inp: DoctorInput, findings: list[Finding]) -> list[Finding]:
    quoted = {e.metric for f in findings for e in f.evidence}
    out = []
    for r in inp.log.records:
        if r.level != "ERROR" or r.kind not in ("launch", "app", "glib"):
            continue
        if r.where() in quoted or r.message.startswith(("pipeline doesn't want to", "Pipeline "
                                                        "doesn't want to")):
            continue
        if findings and "state change failed and some element failed to post" in r.message:
            continue  # GStreamer's follow-up to an error already explained
        if FLOW_ERROR.search(r.text) and any(
                x.level == "ERROR" and x.kind == r.kind and not FLOW_ERROR.search(x.text)
                for x in inp.log.records):
            # GST_FLOW_ERROR stops a streaming thread only after an element posted the error
            # that says why: this one is that error seen from upstream
            continue
        own = _own_warnings(inp, r)
        out.append(finish(Finding(
            code="pipeline-error", title=f"{r.element or 'The pipeline'}: {r.message}",
            severity="critical", subject=r.element, evidence=[quote(r), *map(quote, own)],
            element=r.element,
            detail="An error pipesight has no specific explanation for; the element's debug "
                   "output is quoted.",
            fix=next_step(inp, r, own))))
        quoted.add(r.where())
        if len(out) >= 5:
            break
    return out


def _own_warnings(inp: DoctorInput, err: LogRecord) -> list[LogRecord]:
    """The element's own debug warnings just before its error (at most two)."""
    if not err.element:
        return []
    before = [r for r in inp.log.records if r.kind == "debug" and r.element == err.element
              and r.level in ("ERROR", "WARN") and r.source == "gst.log"]
    return before[-2:]


def next_step(inp: DoctorInput, err: LogRecord, own: list[LogRecord]) -> str:
    """What to try next for an error with no rule: never the run that was just made. A run
    at GST_DEBUG 3 or more (doctor's own) already holds the warnings; then only the element's
    own category, in detail, adds anything."""
    ran = debug_setting(inp)
    cat = next((r.category for r in reversed(own) if r.category), None)
    el = err.element or "the element"
    if ran is None:
        return ("Run it again with GST_DEBUG=3 (pipesight doctor -- COMMAND does) for the "
                "element's own warnings before the error.")
    setting, said = ran
    if cat and not re.search(rf"(^|,){re.escape(cat)}:[6-9]", setting):
        return (f"pipesight has no rule for this error. {said}, and {el}'s own warnings are "
                f"quoted. For its detailed log: GST_DEBUG=3,{cat}:6 pipesight doctor -- "
                f"COMMAND (doctor keeps your GST_DEBUG), then read {el}'s lines before the "
                "error.")
    return (f"pipesight has no rule for this error. {said}: the element's records are in the "
            f"log before the error; search for the message in {el}'s documentation and issue "
            "tracker.")


def debug_setting(inp: DoctorInput) -> tuple[str, str] | None:
    """The GST_DEBUG a run used and a sentence saying so, when it was at level 3 or more (so
    the warnings are in its log): from the manifest, else inferred from a log that holds
    records above WARN."""
    added = inp.manifest.get("environment_added") if isinstance(inp.manifest, dict) else None
    val = added.get("GST_DEBUG") if isinstance(added, dict) else None
    if isinstance(val, str) and val:
        first = val.split(",", 1)[0]
        level = first.rsplit(":", 1)[-1] if first.startswith("*") else first
        if level.isdigit() and int(level) >= 3:
            return val, f"This run logged GST_DEBUG={val}"
        return None
    if any(r.kind == "debug" and r.level in ("FIXME", "INFO", "DEBUG", "LOG", "TRACE")
           for r in inp.log.records):
        return "3", "The log already holds records above warnings (GST_DEBUG 3 or more)"
    return None


def _lint(inp: DoctorInput) -> list[Finding]:
    bound: set[str] = set()
    v = inp.verdict or {}
    el = (v.get("bottleneck") or {}).get("element")
    if el:
        bound.add(str(el))
    out: list[Finding] = []
    if inp.dots:
        # the most complete graph: dumps early in a run hold only part of it
        d = max(inp.dots, key=lambda x: (len(x.graph.topology.elements), x.path.name))
        out += lint_graph.analyze(lint_graph.Graph(d.graph.topology, d.label, d.path.parent),
                                  inp.benchmark, bound)
    if inp.ds is not None:
        pgie = next((ic for ic in inp.ds.infer if ic.group == "primary-gie"), None)
        out += lint_config.analyze(inp.ds, inp.benchmark,
                                   inference_bound=bool(pgie and bound))
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen: set[tuple[str, str | None, str]] = set()
    out = []
    for f in findings:
        k = (f.code, f.subject, f.title)
        if k in seen:
            continue
        seen.add(k)
        out.append(f)
    return out


def _coverage(inp: DoctorInput) -> tuple[list[str], list[str]]:
    seen, missing = [], []
    if inp.log.lines:
        seen.append(f"{inp.log.lines} log lines ({len(inp.log.records)} GStreamer records kept, "
                    f"{inp.log.other_lines} lines of other programs)")
    else:
        missing.append("a GStreamer debug log")
    if inp.dots:
        seen.append(f"{len(inp.dots)} pipeline graph(s)")
    else:
        missing.append("a pipeline graph (GST_DEBUG_DUMP_DOT_DIR)")
    if inp.states:
        seen.append(f"{len(inp.states)} state changes (tracer)")
    if inp.hang is not None:
        seen.append(f"native stacks of {len(inp.hang.threads)} threads")
    if inp.ds is not None:
        seen.append(f"deepstream-app config {inp.ds.path.name} and {len(inp.ds.infer)} nvinfer "
                    "config(s)")
    return seen, missing
