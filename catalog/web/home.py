"""The home page (counts, namespaces, recent runs, where to go next) and the search results page."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from catalog import browse
from catalog.api.auth import principal
from catalog.keys import COMPLIANCE
from catalog.web.render import bad_request, call, render
from policies import audit_runs

SEARCH_RESULTS = 100


async def home(request: Request) -> Response:
    overview = await call(request, browse.overview)
    namespaces = await call(request, browse.namespaces, 30)
    runs = await call(request, browse.recent_runs, 10)
    audit = await call(request, audit_runs.latest_run) if principal(request).may(COMPLIANCE) else None
    widest = max([n["datasets"] + n["jobs"] for n in namespaces] or [1])
    return render(request, "home.html", overview=overview, namespaces=namespaces, runs=runs, audit=audit,
                  widest=widest)


async def search(request: Request) -> Response:
    q = (request.query_params.get("q") or "").strip()
    kind = request.query_params.get("type") or None
    if not q:
        return render(request, "search.html", q="", hits=[], kind=kind)
    try:
        hits = await call(request, browse.search, q, [kind] if kind else None, SEARCH_RESULTS)
    except browse.BrowseError as exc:
        return bad_request(request, str(exc))
    return render(request, "search.html", q=q, hits=hits, kind=kind)
