"""What it means for a verdict to agree with its own findings, stated apart from the code that
settles them (verdict/settle.py), so that a test can catch it drifting."""

from __future__ import annotations

import re

# words a finding uses when it says it is THE limit
CLAIMS = re.compile(r"limits throughput|is the limit|are the limit|paces the pipeline|"
                    r"cannot produce faster|keeps up with its live source")
STANCES = {"secondary", "explained", "disagrees", "not-judged"}
DROPS = {"qos-dropped", "leaky-queue-drops", "live-falls-behind"}


def contradictions(v: dict) -> list[str]:
    """Every way the findings of verdict.json ``v`` contradict its bottleneck; [] when none."""
    b = v["bottleneck"]
    out: list[str] = []
    verdicts = [f for f in v["findings"] if f.get("stance") == "verdict"]
    if b["kind"] != "unknown":
        if len(verdicts) != 1:
            out.append(f"{len(verdicts)} findings have stance 'verdict'")
        elif b["kind"] != "failed" and (verdicts[0]["kind"], verdicts[0]["element"]) != \
                (b["kind"], b["element"]):
            out.append("the verdict's finding names another bottleneck than the verdict")
    disagree = []
    for f in v["findings"]:
        if f.get("stance") == "verdict":
            continue
        if f.get("kind"):
            if f.get("stance") not in STANCES:
                out.append(f"{f['code']}: a candidate without a stance")
            if f["severity"] == "critical" and f.get("stance") != "disagrees":
                out.append(f"{f['code']}: critical, yet not the verdict and not said to disagree")
            if f.get("stance") == "disagrees":
                disagree.append(f)
        if CLAIMS.search(f["title"]):
            out.append(f"{f['code']}: its title claims a limit: {f['title'][:90]}")
    if disagree:
        if b["confidence"] == "confirmed":
            out.append("findings disagree, yet the verdict is confirmed")
        if "disagree" not in b["summary"]:
            out.append("findings disagree, and the verdict does not say so")
    codes = {f["code"] for f in v["findings"]}
    if b["kind"] == "live-source" and codes & DROPS:
        out.append(f"keeps up with a live source, yet {sorted(codes & DROPS)}")
    if b["kind"] == "failed" and any(f.get("kind") and f.get("stance") != "not-judged"
                                     for f in v["findings"] if f.get("stance") != "verdict"):
        out.append("the run failed, yet a candidate was weighed")
    if b["element"] and any(f["code"] == "heavy-not-limit" and f["subject"] == b["element"]
                            for f in v["findings"]):
        out.append("the bottleneck is also said not to be the limit")
    fps = v.get("throughput_fps")
    live = (b.get("headroom") or {}).get("source_fps")
    for fx in b.get("fixes") or []:
        p = fx.get("predicted_fps")
        if p is None:
            continue
        if fps and p < 0.95 * fps:
            out.append(f"fix {fx['action']} predicts {p} fps, below today's {fps:.1f}")
        if live and p > 1.05 * live and fx["action"] != "not-live":
            out.append(f"fix {fx['action']} promises {p} fps, above the live source's {live}")
    return out
