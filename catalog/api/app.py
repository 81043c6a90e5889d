"""The ASGI application: routes, error handling, lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute

from catalog.api.audits import (
    audit_page,
    get_audit,
    get_findings,
    get_impact,
    get_register,
    get_report,
    impact_page,
    list_audits,
    post_audit,
    register_page,
)
from catalog.api.auth import AuthMiddleware, guarded
from catalog.api.errors import HTTPError, error_response, unavailable_response
from catalog.api.graphql import schema
from catalog.api.graphql_context import EventHub
from catalog.api.graphql_http import CatalogGraphQL
from catalog.api.ingest import post_lineage, post_lineage_batch
from catalog.api.limits import RateLimitMiddleware, TimeoutMiddleware
from catalog.api.login import login, login_page, logout
from catalog.api.metrics import LIVE_SECONDS, Metrics, MetricsMiddleware, metrics_endpoint
from catalog.api.ops import health
from catalog.api.policies import list_policies, post_policy
from catalog.api.reads import get_dataset, get_lineage
from catalog.api.scans import post_scan
from catalog.auditing import Auditor
from catalog.config import Settings
from catalog.demo import load_demo
from catalog.ingest import Accepted, IngestPipeline, PreparedEvent, Projector
from catalog.kafka_ingest import start_kafka
from catalog.keys import AUDIT, COMPLIANCE, INGEST, POLICY, READ, STEWARD
from catalog.logstore.base import LogsUnavailable
from catalog.runtime import Catalog
from catalog.store.base import GraphUnavailable
from catalog.web.render import error_page, wants_page
from catalog.web.routes import ROUTES as PAGES

log = logging.getLogger("catalog.api")


async def _http_error(request: Request, exc: HTTPError) -> Response:
    if wants_page(request):
        return error_page(request, exc.status, exc.message)
    return error_response(exc.status, exc.message, exc.details, exc.headers)


async def _graph_unavailable(request: Request, exc: GraphUnavailable) -> JSONResponse:
    return error_response(503, "the graph engine is unavailable; retry shortly", [str(exc)], {"Retry-After": "2"})


async def _logs_unavailable(request: Request, exc: LogsUnavailable) -> JSONResponse:
    return unavailable_response(exc)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", extra={"path": request.url.path})
    return error_response(500, "internal error; see the server log")


def _has_column_lineage(event: dict) -> bool:
    return any("columnLineage" in (d.get("facets") or {}) for d in event.get("outputs") or [])


# Propagation re-derives every propagated classification, at a cost that grows with the classified graph, not
# with the events that triggered it. Under a stream of column lineage (a commit every few milliseconds) a run per
# commit took a third of the server's CPU from ingestion: runs start at most once an interval, and on a graph
# where a run is long (0.4-0.5 s at 100K datasets and 22K classifications) at most this share of the time. Each
# run covers every change since the one before.
PROPAGATION_INTERVAL_SECONDS = 1.0
PROPAGATION_MAX_SHARE = 0.2


def propagation_gap(took: float) -> float:
    """Seconds from one background propagation run's start to the next's, after a run that took ``took``."""
    return max(PROPAGATION_INTERVAL_SECONDS, took / PROPAGATION_MAX_SHARE)


async def _repropagate(catalog: Catalog, lineage_changed: asyncio.Event, metrics: Metrics) -> None:
    """Re-derive propagated classifications after column lineage arrives (coalesced, off the ingest path)."""
    loop = asyncio.get_running_loop()
    while True:
        await lineage_changed.wait()
        lineage_changed.clear()
        started, took = loop.time(), 0.0  # a failed run's time says nothing of the next's (a timeout, say)
        try:
            stats = await asyncio.to_thread(catalog.propagator.run)
            took = loop.time() - started
            metrics.propagation_seconds.observe(took)
            if stats["added_or_changed"] or stats["removed"]:
                log.info("classifications re-propagated", extra=stats)
        except GraphUnavailable:
            lineage_changed.set()
        except Exception:  # keep the loop alive; the next lineage change retries
            log.exception("classification propagation failed")
        await asyncio.sleep(max(0.0, started + propagation_gap(took) - loop.time()))


async def _publish_live(metrics: Metrics) -> None:
    """The primary's live figures (Kafka consumer, retention), for the scrapes a worker answers."""
    while True:
        try:
            metrics.publish_live()
        except OSError as exc:
            log.warning("could not write the live metrics for the workers", extra={"error": str(exc)})
        await asyncio.sleep(LIVE_SECONDS)


def create_app(settings: Settings | None = None, catalog: Catalog | None = None,
               load_samples: bool = False) -> Starlette:
    """The app; it opens (and later closes) the catalog itself unless one is passed in.

    ``load_samples`` puts the demo (catalog.demo: sample lineage and a scan) into an empty catalog at start.
    """
    settings = settings or Settings()
    metrics = Metrics()

    def on_commit(hub: EventHub, lineage_changed: asyncio.Event, projector: Projector):
        loop = asyncio.get_running_loop()

        def count(events: list[PreparedEvent], accepted: list[Accepted]) -> None:
            metrics.commit_sizes.observe(len(events))
            for event, item in zip(events, accepted):
                metrics.events.labels("accepted" if item.new else "duplicate", event.kind).inc()
            hub.publish_threadsafe([
                {"namespace": e.event["job"]["namespace"], "job": e.event["job"]["name"],
                 "runId": e.event["run"]["runId"], "eventType": e.event.get("eventType"), "eventTime": e.time}
                for e, item in zip(events, accepted) if item.new and e.kind == "RunEvent"])
            if projector.leading and any(
                    item.new and _has_column_lineage(e.event) for e, item in zip(events, accepted)):
                loop.call_soon_threadsafe(lineage_changed.set)
        return count

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette):
        owned = catalog is None
        app.state.catalog = Catalog.open(settings) if owned else catalog
        app.state.hub = EventHub(asyncio.get_running_loop())
        opened: Catalog = app.state.catalog
        app.state.auditor = Auditor(opened.store, opened.governance, opened.logs.coordination, metrics.audit_finished)
        metrics.watch_retention(opened.projector)
        lineage_changed = asyncio.Event()
        app.state.pipeline = IngestPipeline(
            opened.log, opened.projector, on_commit=on_commit(app.state.hub, lineage_changed, opened.projector),
            # Events other replicas logged carry column lineage too: re-propagate once they are in the graph.
            on_caught_up=lambda events: lineage_changed.set(),
            interval=0.2 if opened.logs.coordination.shared else 0.5, acknowledge=settings.acknowledge)
        await app.state.pipeline.start()
        repropagation = asyncio.create_task(_repropagate(app.state.catalog, lineage_changed, metrics))
        if load_samples and app.state.catalog.log.last_seq() == 0:  # a new catalog (not one retention emptied)
            await load_demo(app.state.catalog, app.state.pipeline)
        app.state.kafka = None
        if settings.kafka_bootstrap:
            app.state.kafka = start_kafka(settings, app.state.pipeline,
                                          on_rejected=metrics.events.labels("rejected", "unknown").inc)
            metrics.watch_kafka(app.state.kafka)
        publishing = asyncio.create_task(_publish_live(metrics)) if metrics.shared and not opened.worker else None
        log.info("catalog ready", extra={"graph": app.state.catalog.store.name, "data_dir": str(settings.data_dir)})
        try:
            yield
        finally:
            repropagation.cancel()
            if publishing:
                publishing.cancel()
            if app.state.kafka:  # it submits to the pipeline, so it stops first (off the loop it waits on)
                await asyncio.to_thread(app.state.kafka.stop)
            await app.state.pipeline.stop()
            await app.state.catalog.store.aclose()
            if owned:
                app.state.catalog.close()

    # Every route names the permission it needs (catalog.keys); /graphql checks each field instead.
    routes = [
        Route("/api/v1/lineage", guarded(INGEST, post_lineage), methods=["POST"]),
        Route("/api/v1/lineage/batch", guarded(INGEST, post_lineage_batch), methods=["POST"]),
        Route("/api/v1/lineage", guarded(READ, get_lineage), methods=["GET"]),
        Route("/api/v1/namespaces/{namespace:path}/datasets/{name:path}", guarded(READ, get_dataset),
              methods=["GET"]),
        Route("/api/v1/scans", guarded(STEWARD, post_scan), methods=["POST"]),
        Route("/api/v1/policies", guarded(POLICY, post_policy), methods=["POST"]),
        Route("/api/v1/policies", guarded(READ, list_policies), methods=["GET"]),
        Route("/api/v1/audits", guarded(AUDIT, post_audit), methods=["POST"]),
        Route("/api/v1/audits", guarded(COMPLIANCE, list_audits), methods=["GET"]),
        Route("/api/v1/audits/{run_id}", guarded(COMPLIANCE, get_audit), methods=["GET"]),
        Route("/api/v1/audits/{run_id}/findings", guarded(COMPLIANCE, get_findings), methods=["GET"]),
        Route("/api/v1/audits/{run_id}/report", guarded(COMPLIANCE, get_report), methods=["GET"]),
        Route("/api/v1/register", guarded(COMPLIANCE, get_register), methods=["GET"]),
        Route("/api/v1/impact", guarded(COMPLIANCE, get_impact), methods=["GET"]),
        Route("/audits/{run_id}", guarded(COMPLIANCE, audit_page), methods=["GET"]),
        Route("/register", guarded(COMPLIANCE, register_page), methods=["GET"]),
        Route("/impact", guarded(COMPLIANCE, impact_page), methods=["GET"]),
        Route("/graphql", CatalogGraphQL(schema, graphql_ide="graphiql"), methods=["GET", "POST"]),
        WebSocketRoute("/graphql", CatalogGraphQL(schema)),
        Route("/login", login_page, methods=["GET"]),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["GET", "POST"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
        *PAGES,
    ]
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={HTTPError: _http_error, GraphUnavailable: _graph_unavailable,
                            LogsUnavailable: _logs_unavailable, Exception: _unexpected},
    )
    app.state.settings = settings
    app.state.metrics = metrics
    # Outermost last: metrics see every answer, the timeout covers all the work, limits apply per key.
    app.add_middleware(RateLimitMiddleware, per_second=settings.rate_limit_per_second,
                       burst=settings.rate_limit_burst)
    app.add_middleware(AuthMiddleware, enabled=not settings.no_auth)
    app.add_middleware(TimeoutMiddleware, seconds=settings.request_timeout_seconds)
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    return app
