"""What analyses read: the trace and its metrics with their look-ups (metrics.lookup), and the
thresholds the analyses share."""

from __future__ import annotations

from pipesight.metrics.lookup import Lookup

SATURATED = 0.9  # busy share of a thread that leaves no headroom
SUSPECT = 0.8
MODEL_CLOSE = 0.9  # a pipeline at this share of the model alone is at its maximum


class Context(Lookup):
    def at_ceiling(self) -> tuple[float, bool] | None:
        """The pipeline's share of the model alone, and whether that is its maximum (at or
        above MODEL_CLOSE), where a comparable ceiling was given."""
        c = self.metrics.ceiling
        if c is None or not c.accepted or c.headroom is None:
            return None
        return c.headroom, c.headroom >= MODEL_CLOSE
