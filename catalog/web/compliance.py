"""Compliance pages: personal data by category (Art. 9 apart), the audit runs, and the erasure-impact
field picker. The reports themselves (audit, register, impact) are catalog.api.audits' pages."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from catalog import browse
from catalog.api.auth import actor
from catalog.auditing import AuditBusy
from catalog.store import reads
from catalog.web.render import bad_request, call, error_page, query_url, render
from policies import audit_runs, classifications

PAGE_SIZE = 100
AUDITS_SHOWN = 50


async def compliance_page(request: Request) -> Response:
    after = request.query_params.get("after") or None
    categories = await call(request, classifications.by_category)
    personal = await call(request, classifications.pii_datasets, False, PAGE_SIZE + 1, after)
    special = await call(request, classifications.pii_datasets, True, PAGE_SIZE)
    widest = max([c["datasets"] for c in categories] or [1])
    return render(request, "compliance.html", categories=categories, widest=widest,
                  personal=personal[:PAGE_SIZE], next_after=personal[PAGE_SIZE - 1]["dataset"]
                  if len(personal) > PAGE_SIZE else None, special=special, after=after)


async def audits_page(request: Request) -> Response:
    runs = await call(request, audit_runs.runs, AUDITS_SHOWN)
    started = request.query_params.get("started")
    progress = request.app.state.auditor.progress(started) if started else None
    return render(request, "audits.html", runs=runs, progress=progress)


async def start_audit(request: Request) -> Response:
    """The "Run an audit now" button: an audit against the active policies, in the background."""
    try:
        entry = request.app.state.auditor.start(actor(request))
    except AuditBusy as exc:
        return error_page(request, 409, str(exc))
    return RedirectResponse(query_url("/audits", started=entry["id"]), status_code=303)


async def impact_picker(request: Request) -> Response:
    """Choose the source column of an erasure / subject-access impact: find its dataset, then pick the column."""
    dataset = request.query_params.get("dataset") or None
    q = (request.query_params.get("q") or "").strip()
    fields, hits = [], []
    if dataset:
        if not dataset.startswith("dataset:"):
            return bad_request(request, "dataset must be a dataset id: dataset:<namespace>:<name>")
        fields = (await call(request, reads.fields_of, [dataset]))[dataset]
        found = await call(request, classifications.of_fields, [f["key"] for f in fields])
        fields = [{**f, "classifications": [c for c in found[f["key"]] if c["state"] != "rejected"]} for f in fields]
    elif q:
        hits = await call(request, browse.search, q, ["DATASET"], 50)
    suggestions = [] if dataset or q else await call(request, classifications.pii_datasets, False, 50)
    return render(request, "impact_pick.html", dataset=dataset, fields=fields, q=q, hits=hits, suggestions=suggestions)
