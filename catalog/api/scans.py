"""``POST /api/v1/scans``: PII scan results in, from ``catalog scan`` or any scanner.

The body carries findings and counts, never sampled values. It is validated here (pydantic),
recorded in the governance log with the caller as actor, applied to the graph, and
propagation along column lineage is re-derived before the answer.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse

from catalog.api.auth import actor
from catalog.api.body import read_json
from catalog.api.errors import HTTPError
from catalog.offload import in_thread
from policies import classifications

MAX_COLUMNS = 5000


class FindingIn(BaseModel):
    entity: str = Field(min_length=1, max_length=64)
    recognizer: str = Field(max_length=200)
    score: float = Field(ge=0, le=1)
    matched: int = Field(ge=0)
    sampled: int = Field(ge=0)
    evidence: Literal["values", "values+name", "name"]
    json_path: str | None = Field(None, max_length=1000)


class ColumnIn(BaseModel):
    column: str = Field(min_length=1, max_length=512)
    sampled: int = Field(ge=0)
    findings: list[FindingIn] = Field(default_factory=list, max_length=64)
    note: str | None = Field(None, max_length=500)


class ScanIn(BaseModel):
    namespace: str = Field(min_length=1, max_length=1024)
    name: str = Field(min_length=1, max_length=1024)
    source: str = Field(max_length=2048)
    rows: int = Field(ge=0)
    seconds: float = Field(ge=0)
    model: str | None = Field(None, max_length=200)
    columns: list[ColumnIn] = Field(max_length=MAX_COLUMNS)


def _pointer(loc: tuple) -> str:
    return "/" + "/".join(str(part) for part in loc)


async def post_scan(request: Request) -> JSONResponse:
    state = request.app.state
    body = await read_json(request, state.settings.max_body_bytes)
    try:
        scan = ScanIn.model_validate(body)
    except ValidationError as exc:
        raise HTTPError(422, "scan result is not valid",
                        [{"path": _pointer(e["loc"]), "message": e["msg"]} for e in exc.errors()]) from None
    names = [c.column for c in scan.columns]
    if len(set(names)) != len(names):
        raise HTTPError(422, "scan result is not valid", [{"path": "/columns", "message": "duplicate column names"}])
    catalog = state.catalog
    detail = scan.model_dump(exclude={"namespace", "name"})
    who = actor(request)

    def record() -> tuple[dict, dict]:
        change = classifications.record_scan(catalog.store, catalog.governance, who, scan.namespace, scan.name,
                                             detail)
        return change, catalog.propagator.run()

    try:
        change, propagation = await in_thread(record)
    except classifications.ClassificationError as exc:
        status = 404 if str(exc).startswith("no dataset") else 422
        raise HTTPError(status, str(exc)) from None
    found = sum(len(c.findings) for c in scan.columns)
    return JSONResponse({"seq": change["seq"], "dataset": change["nodeId"], "columns": len(scan.columns),
                         "findings": found, "propagated": propagation["propagated"]}, status_code=201)
