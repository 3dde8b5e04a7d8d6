"""CI gates: conditions under which `profile` and `compare` exit with EXIT_GATE, each with a
one-line reason. None means the gate passed."""

from __future__ import annotations

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


def slower(a_fps: float | None, b_fps: float | None, pct: float,
           within_noise: bool = False) -> str | None:
    """`compare A B --fail-if-slower PCT`: B's throughput more than PCT% below A's."""
    if a_fps is None or a_fps <= 0:
        return "A has no throughput to compare against (no buffer reached a sink)"
    if b_fps is None:
        return "B has no throughput (no buffer reached a sink)"
    drop = 100.0 * (a_fps - b_fps) / a_fps
    if drop > pct:
        noise = " (the measured noise is larger: rerun with --repeat)" if within_noise else ""
        return (f"B is {drop:.1f}% slower than A ({a_fps:.1f} -> {b_fps:.1f} fps), more than "
                f"the allowed {pct:g}%{noise}")
    return None
