"""OTLP export through the OpenTelemetry SDK (HTTP/protobuf): observable instruments read the
watch's MetricState when the SDK's reader collects (every interval); the element processing
time histogram is recorded from each interval's per-buffer times (at most ``HIST_SAMPLES`` a
element and interval, evenly strided: OpenTelemetry has no bulk or observable histogram).

A collector that is down or refuses does not stop the watch: the SDK's reader retries on its
own thread each interval, and pipesight says so once (and once again when it recovers)."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from pipesight.exporters import missing
from pipesight.exporters.series import SPECS, MetricState

HIST_SAMPLES = 256


class OtlpExporter:
    def __init__(self, state: MetricState, url: str, interval_s: float,
                 resource: dict[str, str] | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        try:
            from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                OTLPMetricExporter,
            )
            from opentelemetry.sdk.metrics import MeterProvider
            from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
            from opentelemetry.sdk.resources import Resource
        except ImportError:
            raise missing("--otlp", "opentelemetry-sdk") from None
        # the SDK logs every failed export with a traceback: pipesight says it once instead
        logging.getLogger("opentelemetry").setLevel(logging.CRITICAL)
        self.state = state
        self.say = say or (lambda m: print(f"pipesight: {m}", file=sys.stderr))
        self.url = url
        self.failing = False
        self._seen_recent: dict[tuple, int] = {}
        inner = OTLPMetricExporter(endpoint=url, timeout=max(min(interval_s / 2, 10.0), 1.0))
        exporter = _reporting(inner, self._result)
        self.reader = PeriodicExportingMetricReader(
            exporter, export_interval_millis=interval_s * 1000.0)
        self.provider = MeterProvider(
            metric_readers=[self.reader],
            resource=Resource.create({"service.name": "pipesight-watch", **(resource or {})}))
        meter = self.provider.get_meter("pipesight")
        self.hists: dict[str, Any] = {}
        for spec in SPECS.values():
            if spec.kind == "histogram":
                self.hists[spec.prom] = meter.create_histogram(
                    spec.otel, unit=spec.unit, description=spec.help,
                    explicit_bucket_boundaries_advisory=list(_buckets()))
            elif spec.kind == "counter":
                meter.create_observable_counter(spec.otel, [self._observer(spec.prom)],
                                                unit=spec.unit, description=spec.help)
            else:
                meter.create_observable_gauge(spec.otel, [self._observer(spec.prom)],
                                              unit=spec.unit, description=spec.help)

    def _result(self, ok: bool) -> None:
        if not ok and not self.failing:
            self.say(f"cannot export to the OTLP endpoint {self.url}; watching goes on and the "
                     "export is retried every interval")
        elif ok and self.failing:
            self.say(f"exporting to {self.url} again")
        self.failing = not ok

    def _observer(self, name: str) -> Callable[[Any], Iterable[Any]]:
        from opentelemetry.metrics import Observation

        labels = SPECS[name].labels

        def observe(options: Any) -> Iterable[Any]:
            values, _ = self.state.snapshot()
            return [Observation(v, dict(zip(labels, lv, strict=True)))
                    for (n, lv), v in values.items() if n == name]

        return observe

    def update(self) -> None:
        """After each interval: record its per-buffer times into the histograms."""
        _, hists = self.state.snapshot()
        for (name, lv), h in hists.items():
            if h.recent is None or not h.recent.size:
                continue
            key = (name, lv)
            if self._seen_recent.get(key) == id(h.recent):
                continue
            self._seen_recent[key] = id(h.recent)
            vals = h.recent
            if vals.size > HIST_SAMPLES:
                vals = vals[np.linspace(0, vals.size - 1, HIST_SAMPLES).astype(np.int64)]
            attrs = dict(zip(SPECS[name].labels, lv, strict=True))
            rec = self.hists[name].record
            for x in vals.tolist():
                rec(x, attrs)
        live = set(hists)
        self._seen_recent = {k: v for k, v in self._seen_recent.items() if k in live}

    def flush(self) -> None:
        self.provider.force_flush(timeout_millis=5000)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the endpoint may be down: nothing to send
            self.provider.shutdown(timeout_millis=5000)


def _reporting(inner: Any, on_result: Callable[[bool], None]) -> Any:
    """``inner``, saying after each export whether it went through."""
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    class Reporting(MetricExporter):
        def __init__(self) -> None:
            super().__init__(preferred_temporality=inner._preferred_temporality,
                             preferred_aggregation=inner._preferred_aggregation)

        def export(self, metrics_data: Any, timeout_millis: float = 10_000,
                   **kw: Any) -> Any:
            try:
                r = inner.export(metrics_data, timeout_millis=timeout_millis, **kw)
            except Exception:  # a refused connection may surface as an exception
                r = MetricExportResult.FAILURE
            on_result(r == MetricExportResult.SUCCESS)
            return r

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return inner.force_flush(timeout_millis=timeout_millis)

        def shutdown(self, timeout_millis: float = 30_000, **kw: Any) -> None:
            inner.shutdown(timeout_millis=timeout_millis, **kw)

    return Reporting()


def _buckets() -> tuple[float, ...]:
    from pipesight.exporters.series import BUCKETS

    return BUCKETS
