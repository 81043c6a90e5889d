"""``/api/v1/policies``: load a policy document (YAML or JSON) on demand, list the active ones.

Loading validates the document (errors name the source, line and field, 422), records it
in the governance log with the caller as actor and makes it the active version of its
name; the same content again is not a new version. Propagation is re-run, since a policy
may declare anonymizing jobs.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from catalog.api.auth import actor
from catalog.api.body import read_body
from catalog.api.errors import HTTPError
from catalog.offload import in_thread
from policies import registry
from policies.policy_files import MAX_POLICY_BYTES, PolicyError


async def post_policy(request: Request) -> JSONResponse:
    raw = await read_body(request, MAX_POLICY_BYTES)
    source = request.query_params.get("source") or "<request body>"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise HTTPError(400, "policy document is not UTF-8 text") from None
    who = actor(request)
    try:
        catalog = request.app.state.catalog
        row, changed = await in_thread(registry.load_text, catalog.store, catalog.governance, who, text,
                                       source, catalog.propagator)
    except PolicyError as exc:
        raise HTTPError(422, f"policy is not valid: {len(exc.problems)} problem(s)", exc.as_details()) from None
    return JSONResponse({"name": row["name"], "version": row["version"], "changed": changed,
                         "loadedAt": row["loadedAt"]}, status_code=201 if changed else 200)


async def list_policies(request: Request) -> JSONResponse:
    rows = await in_thread(registry.policy_rows, request.app.state.catalog.store)
    return JSONResponse({"policies": [{k: r["p"].get(k) for k in ("name", "version", "description", "source",
                                                                    "loadedAt", "loadedBy")} for r in rows]})
