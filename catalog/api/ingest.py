"""``POST /api/v1/lineage`` and ``POST /api/v1/lineage/batch``: OpenLineage in."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from catalog.api.auth import Principal, principal
from catalog.api.body import read_json
from catalog.api.errors import HTTPError
from catalog.ingest import PreparedEvent, prepare_event
from ingestors.validate import InvalidEvent


def _outside_namespaces(who: Principal, event: PreparedEvent) -> list[str]:
    """The namespaces this event would write that the caller's key may not write to."""
    return sorted(ns for ns in event.namespaces if not who.may_write(ns))


def _refusal(who: Principal, outside: list[str]) -> str:
    return (f"this key may write only to namespaces matching {', '.join(who.namespaces)}; "
            f"the event writes to {', '.join(outside)}")


async def post_lineage(request: Request) -> JSONResponse:
    state = request.app.state
    event = await read_json(request, state.settings.max_body_bytes)
    try:
        prepared = prepare_event(event)
    except InvalidEvent as exc:
        state.metrics.events.labels("rejected", "unknown").inc()
        raise HTTPError(422, "event does not conform to the OpenLineage spec",
                        [e.as_dict() for e in exc.errors]) from exc
    outside = _outside_namespaces(principal(request), prepared)
    if outside:
        state.metrics.events.labels("refused", prepared.kind).inc()
        raise HTTPError(403, _refusal(principal(request), outside), [{"namespace": ns} for ns in outside])
    [accepted] = await state.pipeline.submit([prepared])
    return JSONResponse({"seq": accepted.seq, "duplicate": not accepted.new, "type": prepared.kind},
                        status_code=201)


async def post_lineage_batch(request: Request) -> JSONResponse:
    """Many events; each gets its own result, and one bad event never blocks the others."""
    state = request.app.state
    body = await read_json(request, state.settings.max_body_bytes)
    events = body.get("events") if isinstance(body, dict) else body
    if not isinstance(events, list):
        raise HTTPError(400, 'send a JSON array of events, or {"events": [...]}')
    limit = state.settings.max_batch_events
    if len(events) > limit:
        raise HTTPError(413, f"batch of {len(events)} events exceeds the limit of {limit} events per request")
    who = principal(request)
    results: list[dict] = [{}] * len(events)
    prepared, positions = [], []
    for index, event in enumerate(events):
        try:
            candidate = prepare_event(event)
        except InvalidEvent as exc:
            state.metrics.events.labels("rejected", "unknown").inc()
            results[index] = {"index": index, "status": 422, "reason": str(exc),
                              "errors": [e.as_dict() for e in exc.errors]}
            continue
        outside = _outside_namespaces(who, candidate)
        if outside:
            state.metrics.events.labels("refused", candidate.kind).inc()
            results[index] = {"index": index, "status": 403, "reason": _refusal(who, outside)}
            continue
        prepared.append(candidate)
        positions.append(index)
    accepted = await state.pipeline.submit(prepared)
    for index, item, event in zip(positions, accepted, prepared):
        results[index] = {"index": index, "status": 201, "seq": item.seq, "duplicate": not item.new,
                          "type": event.kind}
    ok = sum(1 for r in results if r["status"] == 201)
    return JSONResponse({"accepted": ok, "rejected": len(events) - ok, "results": results},
                        status_code=200 if ok == len(events) else 207)
