"""Prometheus metrics, one registry per app so several apps can live in one process (tests).

With ``catalog serve --workers N`` every process counts into files of one directory (prometheus_client's
multiprocess mode, see :func:`share_between_processes`), and whichever process answers /metrics sums them
all. What is read live from the primary's own state (Kafka consumer, retention) the primary writes beside
them each second, for the workers to answer with.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match


SHARED_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable: the workers inherit it
LIVE_FILE = "primary-live.prom"  # the primary's live families, in the text format
LIVE_SECONDS = 1.0  # how often the primary rewrites them
LIVE_STALE_SECONDS = 10.0  # older than this (the primary is gone), a worker leaves them out


def share_between_processes(directory: Path) -> None:
    """Count into files in ``directory`` from now on, in this process and the ones it starts (the environment
    carries the setting); called by the primary before any metric exists. Files left by an earlier run are
    removed: their counts would add to this run's."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.iterdir():
        stale.unlink()
    os.environ[SHARED_DIRECTORY] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # prometheus_client reads the variable once, at import


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        self.live = CollectorRegistry()  # read at each scrape from this process's state
        shared = os.environ.get(SHARED_DIRECTORY)
        self.shared = Path(shared) if shared else None
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
            "catalog_ingest_bodies_total",
            "Request bodies read (events, GraphQL, scans, policies, forms) by Content-Encoding",
            ["encoding"], registry=self.registry,
        )
        self.commit_sizes = Histogram(
            "catalog_ingest_commit_events", "Events per group written to the graph (acknowledged once in the graph: one "
            "log transaction's; once logged: every group logged meanwhile)",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000), registry=self.registry,
        )
        # A gauge's value across processes is the one set last (by a /health answer, an audit).
        self.projection_lag = Gauge(
            "catalog_projection_lag_events", "Logged events not yet in the graph", registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.engine_restarts = Gauge(
            "catalog_engine_restarts", "Restarts of the embedded graph engine", registry=self.registry,
            multiprocess_mode="mostrecent",
        )

        self.propagation_seconds = Histogram(
            "catalog_propagation_seconds", "Runs of classification propagation after column lineage arrived",
            buckets=(0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60), registry=self.registry,
        )
        self.audit_seconds = Histogram(
            "catalog_audit_seconds", "Duration of compliance audits (read, check, record)",
            buckets=(0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120), registry=self.registry,
        )
        self.audit_findings = Gauge(
            "catalog_audit_open_findings", "Open findings of the latest audit run by severity",
            ["severity"], registry=self.registry, multiprocess_mode="mostrecent",
        )

    def watch_kafka(self, ingestor) -> None:
        """Export a Kafka consumer's counts, offsets and lag, read at each scrape."""
        self.live.register(_KafkaCollector(ingestor))

    def watch_retention(self, projector) -> None:
        """Export what retention removed in this process, read at each scrape."""
        self.live.register(_RetentionCollector(projector))

    def audit_finished(self, run: dict, seconds: float) -> None:
        self.audit_seconds.observe(seconds)
        for severity, count in run["summary"]["bySeverity"].items():
            self.audit_findings.labels(severity).set(count)

    def publish_live(self) -> None:
        """Write this process's live families for the other processes (the primary does, each LIVE_SECONDS)."""
        target = self.shared / LIVE_FILE
        partial = target.with_suffix(".partial")
        partial.write_bytes(generate_latest(self.live))
        partial.replace(target)  # a reader sees the old text or the new, never half

    def render(self, primary: bool) -> Response:
        if self.shared is None:
            text = generate_latest(self.registry) + generate_latest(self.live)
        else:
            every_process = CollectorRegistry()
            multiprocess.MultiProcessCollector(every_process, str(self.shared))
            text = generate_latest(every_process) + (generate_latest(self.live) if primary else self._published())
        return Response(text, media_type="text/plain; version=0.0.4; charset=utf-8")

    def _published(self) -> bytes:
        try:
            target = self.shared / LIVE_FILE
            if time.time() - target.stat().st_mtime <= LIVE_STALE_SECONDS:
                return target.read_bytes()
        except FileNotFoundError:
            pass
        return b""


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
    return request.app.state.metrics.render(primary=not request.app.state.catalog.worker)
