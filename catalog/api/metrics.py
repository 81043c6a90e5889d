"""Prometheus metrics, one registry per app so several apps can live in one process (tests)."""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Histogram(
            "catalog_http_request_seconds", "HTTP request latency by route and status",
            ["method", "route", "status"], registry=self.registry,
        )
        self.events = Counter(
            "catalog_events_total",
            "OpenLineage events by outcome (accepted, duplicate, rejected, refused: outside the key's namespaces)",
            ["outcome", "type"], registry=self.registry,
        )
        self.bodies = Counter(
            "catalog_ingest_bodies_total", "Ingestion request bodies by Content-Encoding",
            ["encoding"], registry=self.registry,
        )
        self.commit_sizes = Histogram(
            "catalog_ingest_commit_events", "Events per group commit (log transaction + graph write)",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000), registry=self.registry,
        )
        self.projection_lag = Gauge(
            "catalog_projection_lag_events", "Logged events not yet in the graph", registry=self.registry,
        )
        self.engine_restarts = Gauge(
            "catalog_engine_restarts", "Restarts of the embedded graph engine", registry=self.registry,
        )

        self.audit_seconds = Histogram(
            "catalog_audit_seconds", "Duration of compliance audits (read, check, record)",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120), registry=self.registry,
        )
        self.audit_findings = Gauge(
            "catalog_audit_open_findings", "Open findings of the latest audit run by severity",
            ["severity"], registry=self.registry,
        )

    def watch_kafka(self, ingestor) -> None:
        """Export a Kafka consumer's counts, offsets and lag, read at each scrape."""
        self.registry.register(_KafkaCollector(ingestor))

    def watch_retention(self, projector) -> None:
        """Export what retention removed in this process, read at each scrape."""
        self.registry.register(_RetentionCollector(projector))

    def audit_finished(self, run: dict, seconds: float) -> None:
        self.audit_seconds.observe(seconds)
        for severity, count in run["summary"]["bySeverity"].items():
            self.audit_findings.labels(severity).set(count)

    def render(self) -> Response:
        return Response(generate_latest(self.registry), media_type="text/plain; version=0.0.4; charset=utf-8")


class _KafkaCollector:
    def __init__(self, ingestor):
        self.ingestor = ingestor

    def collect(self):
        status = self.ingestor.status()
        messages = CounterMetricFamily("catalog_kafka_messages", "Kafka messages consumed, by outcome "
                                       "(ingested: valid, in the event log; dead_letter: refused or unreadable); "
                                       "messages read again after a restart or rebalance count again",
                                       labels=["topic", "outcome"])
        messages.add_metric([status["topic"], "ingested"], status["consumed"] - status["deadLettered"])
        messages.add_metric([status["topic"], "dead_letter"], status["deadLettered"])
        yield messages
        yield GaugeMetricFamily("catalog_kafka_brokers_up", "1 while the consumer reaches a broker",
                                value=1 if status["brokersUp"] else 0)
        per_partition = {
            "lag": ("catalog_kafka_consumer_lag", "Messages in the partition not yet committed by the catalog"),
            "committed": ("catalog_kafka_committed_offset", "Next offset the catalog reads after a restart"),
            "high": ("catalog_kafka_high_watermark", "Offset the next message produced to the partition gets"),
        }
        for key, (name, documentation) in per_partition.items():
            family = GaugeMetricFamily(name, documentation, labels=["topic", "partition"])
            for partition in status["partitions"]:
                if partition[key] is not None:
                    family.add_metric([status["topic"], str(partition["partition"])], partition[key])
            yield family


class _RetentionCollector:
    def __init__(self, projector):
        self.projector = projector

    def collect(self):
        removed = self.projector.retained
        family = CounterMetricFamily("catalog_retention_removed", "What retention removed since this process "
                                     "started: runs, dataset versions, audit runs and findings from the graph; "
                                     "events folded from the event log into its snapshot", labels=["kind"])
        for kind, count in (("runs", removed.runs), ("dataset_versions", removed.versions),
                            ("audit_runs", removed.audits), ("findings", removed.findings),
                            ("events_folded", removed.events)):
            family.add_metric([kind], count)
        yield family
        yield CounterMetricFamily("catalog_retention_seconds", "Time spent applying retention", value=removed.seconds)


access_log = logging.getLogger("catalog.access")


class MetricsMiddleware:
    """Times every HTTP request, labelled by route template rather than raw path, and logs it with
    who asked (the key's id, never the key; no query string, which may hold personal data)."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            seconds = time.perf_counter() - start
            self.metrics.requests.labels(scope["method"], _route_template(scope), str(status["code"])).observe(seconds)
            principal = scope.get("state", {}).get("principal")
            access_log.info("request", extra={"method": scope["method"], "path": scope["path"],
                                              "status": status["code"], "ms": round(seconds * 1000, 1),
                                              "actor": principal.actor if principal else None})


def _route_template(scope) -> str:
    """The path template of the route that answered; the router leaves it in the scope, and only a request
    refused before routing (401, 429) needs its routes matched here."""
    if "route" in scope:
        return getattr(scope["route"], "path", "other")
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", []):
        match, _ = route.matches(scope)
        if match == Match.FULL:
            return getattr(route, "path", "other")
    return "unmatched"


def metrics_endpoint(request: Request) -> Response:
    return request.app.state.metrics.render()
