"""Prometheus endpoint: a collector that reads the watch's MetricState at each scrape, so a
series the state dropped (a stale one, the previous bottleneck) is gone from the next scrape."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pipesight.errors import UserError
from pipesight.exporters import missing
from pipesight.exporters.series import BUCKETS, SPECS, MetricState


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--prometheus {text}: give HOST:PORT (e.g. 127.0.0.1:9464, or "
                        ":9464 for every address)")
    return host.strip("[]") or "0.0.0.0", int(port)


class StateCollector:
    def __init__(self, state: MetricState) -> None:
        self.state = state

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        values, hists = self.state.snapshot()
        fams: dict[str, Any] = {}
        for spec in SPECS.values():
            base = spec.prom.removesuffix("_total") if spec.kind == "counter" else spec.prom
            cls = {"counter": CounterMetricFamily, "gauge": GaugeMetricFamily,
                   "histogram": HistogramMetricFamily}[spec.kind]
            fams[spec.prom] = cls(base, spec.help, labels=list(spec.labels))
        for (name, labels), v in sorted(values.items()):
            fams[name].add_metric(list(labels), v)
        for (name, labels), h in sorted(hists.items()):
            buckets = [(repr(b), int(c)) for b, c in zip(BUCKETS, h.counts[:-1], strict=True)]
            buckets.append(("+Inf", int(h.counts[-1])))
            fams[name].add_metric(list(labels), buckets, h.total)
        for f in fams.values():
            if f.samples:
                yield f


class PrometheusExporter:
    def __init__(self, state: MetricState, address: str) -> None:
        try:
            from prometheus_client import CollectorRegistry, start_http_server
        except ImportError:
            raise missing("--prometheus", "prometheus-client") from None
        host, port = parse_address(address)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(StateCollector(state))
        try:
            self.server, self.thread = start_http_server(port, host, registry=self.registry)
        except OSError as e:
            raise UserError(f"--prometheus {address}: cannot listen there ({e.strerror}); "
                            "is the port taken?") from None
        self.address = f"{host}:{self.server.server_port}"

    def update(self) -> None:
        pass  # scrapes read the state as it is

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
