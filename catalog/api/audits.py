"""Audit runs and the reports built on the graph, over HTTP.

* ``POST /api/v1/audits``: start an audit of every dataset against the active policies, or
  against the policy document in the body (YAML or JSON; used for this run only). 202 with
  the run id; 409 while another audit runs.
* ``GET /api/v1/audits``: recent runs. ``GET /api/v1/audits/{id}``: a run, or its progress
  while it runs (``latest`` names the newest run).
* ``GET /api/v1/audits/{id}/findings``: filtered, paged findings.
* ``GET /api/v1/audits/{id}/report?format=html|json|csv``, also at ``/audits/{id}`` as a page.
* ``GET /api/v1/register`` (Art. 30) and ``GET /api/v1/impact?fieldId=...``, pages at
  ``/register`` and ``/impact``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from catalog.api.auth import actor
from catalog.api.body import read_body
from catalog.api.errors import HTTPError
from catalog.api.params import int_param
from catalog.auditing import AuditBusy
from catalog.offload import in_thread
from policies import audit_runs
from policies.impact import ImpactError, erasure_impact
from policies.policy_files import MAX_POLICY_BYTES, PolicyError, parse_policy
from policies.register import processing_register
from policies.reports import MEDIA_TYPES, ReportError, audit_report, check_format, impact_report, register_report

MAX_FINDINGS_PAGE = 1000


def _format(request: Request, default: str) -> str:
    try:
        return check_format(request.query_params.get("format", default))
    except ReportError as exc:
        raise HTTPError(400, str(exc), [{"parameter": "format"}]) from None


def _report(text: str, fmt: str, filename: str) -> Response:
    headers = {} if fmt == "html" else {"Content-Disposition": f'attachment; filename="{filename}.{fmt}"'}
    return Response(text, media_type=MEDIA_TYPES[fmt], headers=headers)


def _links(run_id: str) -> dict:
    return {"self": f"/api/v1/audits/{run_id}", "report": f"/audits/{run_id}",
            "findings": f"/api/v1/audits/{run_id}/findings"}


async def post_audit(request: Request) -> JSONResponse:
    raw = await read_body(request, MAX_POLICY_BYTES)
    policies = None
    if raw.strip():
        try:
            policies = [parse_policy(raw.decode("utf-8"), request.query_params.get("source") or "<request body>")]
        except UnicodeDecodeError:
            raise HTTPError(400, "policy document is not UTF-8 text") from None
        except PolicyError as exc:
            raise HTTPError(422, f"policy is not valid: {len(exc.problems)} problem(s)", exc.as_details()) from None
    try:
        entry = request.app.state.auditor.start(actor(request), policies)
    except AuditBusy as exc:
        raise HTTPError(409, str(exc), headers={"Retry-After": "5"}) from None
    return JSONResponse({**entry, "links": _links(entry["id"])}, status_code=202,
                        headers={"Location": f"/api/v1/audits/{entry['id']}"})


async def list_audits(request: Request) -> JSONResponse:
    first = int_param(request, "first", 20, 1, 500)
    runs = await in_thread(audit_runs.runs, request.app.state.catalog.store, first)
    return JSONResponse({"runs": [{**r, "links": _links(r["id"])} for r in runs]})


async def _run(request: Request) -> dict:
    run_id = request.path_params["run_id"]
    try:
        return await in_thread(audit_runs.resolve_run, request.app.state.catalog.store,
                               None if run_id == "latest" else run_id)
    except audit_runs.AuditRunError as exc:
        raise HTTPError(404, str(exc)) from None


async def get_audit(request: Request) -> JSONResponse:
    entry = request.app.state.auditor.progress(request.path_params["run_id"])
    if entry and entry["status"] != "complete":
        return JSONResponse({**entry, "links": _links(entry["id"])})
    run = await _run(request)
    return JSONResponse({**run, "status": "complete", "links": _links(run["id"])})


async def get_findings(request: Request) -> JSONResponse:
    run = await _run(request)
    params = request.query_params
    first = int_param(request, "first", 100, 1, MAX_FINDINGS_PAGE)
    after = int_param(request, "after", None, 0, 2**62)
    try:
        found = await in_thread(
            audit_runs.findings, request.app.state.catalog.store, run["id"], params.get("severity"),
            params.get("rule"), params.get("status"), params.get("namespace"), params.get("dataset"), first + 1, after)
    except audit_runs.AuditRunError as exc:
        raise HTTPError(400, str(exc)) from None
    page = found[:first]
    return JSONResponse({"run": run["id"], "findings": page,
                         "next": page[-1]["index"] if len(found) > first else None})


async def _audit_report(request: Request, fmt: str) -> Response:
    run = await _run(request)
    found = await in_thread(audit_runs.findings, request.app.state.catalog.store, run["id"])
    text = await in_thread(audit_report, run, found, fmt)
    return _report(text, fmt, f"audit-{run['id']}")


async def get_report(request: Request) -> Response:
    return await _audit_report(request, _format(request, "html"))


async def audit_page(request: Request) -> Response:
    return await _audit_report(request, "html")


async def _register(request: Request, fmt: str) -> Response:
    register = await in_thread(processing_register, request.app.state.catalog.store)
    return _report(register_report(register, fmt), fmt, "processing-register")


async def get_register(request: Request) -> Response:
    return await _register(request, _format(request, "json"))


async def register_page(request: Request) -> Response:
    return await _register(request, "html")


async def _impact(request: Request, fmt: str) -> Response:
    field_id = request.query_params.get("fieldId")
    if not field_id:
        raise HTTPError(400, "fieldId is required: the source column, datasetField:<namespace>:<dataset>:<column>",
                        [{"parameter": "fieldId"}])
    depth = int_param(request, "depth", 50, 1, 50)
    try:
        impact = await in_thread(erasure_impact, request.app.state.catalog.store, field_id, depth)
    except ImpactError as exc:
        raise HTTPError(404 if str(exc).startswith("no field") else 400, str(exc), [{"parameter": "fieldId"}]) from None
    return _report(impact_report(impact, fmt), fmt, "erasure-impact")


async def get_impact(request: Request) -> Response:
    return await _impact(request, _format(request, "json"))


async def impact_page(request: Request) -> Response:
    return await _impact(request, "html")
