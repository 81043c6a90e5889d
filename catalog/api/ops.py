"""``GET /health``: is the catalog able to serve, and how far behind is the graph."""

from __future__ import annotations

import os

from starlette.requests import Request
from starlette.responses import JSONResponse

from catalog.config import redacted
from catalog.lineage import iso
from catalog.logstore.base import LogsUnavailable
from catalog.offload import in_thread
from catalog.store.base import GraphUnavailable


def health_report(catalog, pipeline, kafka=None) -> tuple[bool, dict]:
    """The report, and whether the catalog can serve (its graph and its log database both reachable). Kafka
    being away does not stop HTTP ingestion or reads: it shows as "degraded" but keeps the status code 200."""
    graph_up = catalog.store.ping()
    log = {"backend": catalog.log.db.kind, "where": catalog.logs.where, "catalog": catalog.log.catalog_id}
    lag = None
    try:
        snapshot = catalog.log.snapshot()
        log.update(reachable=True, events=catalog.log.count(), lastSeq=catalog.log.last_seq(),
                   snapshot={"seq": snapshot.seq, "eventsFolded": snapshot.events, "at": iso(snapshot.compacted_at or None)})
        lag = catalog.projector.lag()
    except LogsUnavailable as exc:
        log.update(reachable=False, error=str(exc)[:300])
    except GraphUnavailable:  # a follower reads the projector's checkpoint from the graph
        pass
    mismatch = catalog.projector.mismatch  # the graph holds another log's projection: nothing is projected
    serving = graph_up and log["reachable"] and mismatch is None
    report = {
        "status": "ok" if serving else "degraded",
        "graph": {"backend": catalog.store.name, "reachable": graph_up, "version": _version(catalog.store, graph_up)},
        "eventLog": log,
        # "projector": this replica projects the log into the graph; "follower": another one does.
        "projection": {"role": "projector" if catalog.projector.leading else "follower",
                       "checkpoint": catalog.projector.applied, "lag": lag,
                       "lagging": bool(pipeline and pipeline.lagging), **({"error": mismatch} if mismatch else {})},
        "retention": _retention(catalog.projector),
        # Which process answered: with --workers, several serve the port (catalog.workers).
        "process": {"pid": os.getpid(), "role": "worker" if catalog.worker else "primary",
                    "processes": catalog.settings.workers},
    }
    if kafka:
        report["kafka"] = kafka.status()
        if not report["kafka"]["brokersUp"]:
            report["status"] = "degraded"
    if catalog.engine:
        report["graph"].update(pid=catalog.engine.pid, port=catalog.engine.port, restarts=catalog.engine.restarts)
    if catalog.settings.graph_url:  # a worker's (the primary's engine), or an engine of the operator's
        report["graph"]["url"] = redacted(catalog.settings.graph_url)
    return serving, report


def _retention(projector) -> dict:
    rules, last = projector.retention, projector.last_retention
    return {"days": rules.days, "auditDays": rules.audit_days,
            "lastPass": None if last is None else {"at": iso(int(last[0] * 1000)), **last[1].as_dict()}}


def _version(store, reachable: bool) -> str | None:
    if not reachable:
        return None
    try:
        return store.version()
    except GraphUnavailable:  # gone between the ping and this
        return None


async def health(request: Request) -> JSONResponse:
    state = request.app.state
    serving, report = await in_thread(health_report, state.catalog, state.pipeline, state.kafka)
    if report["projection"]["lag"] is not None:
        state.metrics.projection_lag.set(report["projection"]["lag"])
    if state.catalog.engine:
        state.metrics.engine_restarts.set(state.catalog.engine.restarts)
    return JSONResponse(report, status_code=200 if serving else 503,
                        headers=None if serving else {"Retry-After": "2"})
