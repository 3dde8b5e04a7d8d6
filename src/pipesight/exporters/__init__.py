"""Exporters of `pipesight watch`'s metrics (watch/series.py's MetricState): Prometheus
(prometheus-client) and OTLP (the OpenTelemetry SDK). Both are the optional extra `watch`,
imported only when asked for; a missing one is one line naming the extra."""

from __future__ import annotations

from pipesight.errors import UserError


def missing(what: str, module: str) -> UserError:
    return UserError(f"{what} needs the Python package '{module}': pip install "
                     "'pipesight[watch]'")
