"""CI gates: conditions under which `profile` and `compare` exit with EXIT_GATE, each with a
one-line reason. None means the gate passed."""

from __future__ import annotations

from dataclasses import dataclass

# distinct from 2 (usage or input mistake), 3 (the profiled command failed), 4 (incomplete
# input) and 70 (internal error), so that CI can tell "slower" from "broken"
EXIT_GATE = 5


def under_fps(fps: float | None, minimum: float) -> str | None:
    """`profile --fail-under-fps X`."""
    if fps is None:
        return f"no throughput was measured (no buffer reached a sink); required {minimum:g} fps"
    if fps < minimum:
        return f"throughput {fps:.1f} fps is under the required {minimum:g} fps"
    return None


@dataclass(frozen=True)
class Noise:
    """How the comparison judged noise on throughput: over repeats (measured) or a margin."""

    basis: str  # "repeats" or "margin"
    threshold_fps: float | None  # the smallest change that counts
    significant: bool  # the change exceeds it
    runs: tuple[int, int]  # repeats on each side (0: run once)


def slower(a_fps: float | None, b_fps: float | None, pct: float,
           noise: Noise | None = None) -> tuple[str | None, str | None]:
    """`compare A B --fail-if-slower PCT`: B's throughput more than PCT% below A's (over
    repeats: their means). Returns (why it failed, a note when it passed only because the
    drop is within the noise the repeats measured)."""
    if a_fps is None or a_fps <= 0:
        return "A has no throughput to compare against (no buffer reached a sink)", None
    if b_fps is None:
        return "B has no throughput (no buffer reached a sink)", None
    drop = 100.0 * (a_fps - b_fps) / a_fps
    if drop <= pct:
        return None, None
    over = _runs(noise)
    said = (f"B is {drop:.1f}% slower than A ({a_fps:.1f} -> {b_fps:.1f} fps{over}), more than "
            f"the allowed {pct:g}%")
    if noise is None:
        return said, None
    thr = "" if noise.threshold_fps is None else f" (±{noise.threshold_fps:.3g} fps)"
    if noise.basis == "repeats":
        if not noise.significant:
            # repeats measured the noise: a drop inside it is not a measured slowdown
            return None, (f"{said.replace('B is', 'B looks', 1)}, but within the noise "
                          f"measured over the repeats{thr}: not counted as slower; more repeats "
                          "or a quieter machine narrow the noise")
        return f"{said}, beyond the noise measured over the repeats{thr}", None
    if not noise.significant:
        return (f"{said} (within the default margin{thr}: profile both with --repeat 3 or more "
                "to measure the noise)"), None
    return said, None


def _runs(noise: Noise | None) -> str:
    if noise is None or not any(noise.runs):
        return ""
    a, b = noise.runs
    if a and b:
        return f"; means of {a} and {b} runs"
    return f"; {'A' if a else 'B'} the mean of {a or b} runs"
