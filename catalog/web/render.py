"""Rendering pages: one Jinja2 environment, the caller's permissions, and small helpers for handlers."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode, urlparse

import orjson
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from catalog.api.auth import principal
from catalog.api.errors import HTTPError
from catalog.keys import AUDIT, COMPLIANCE, POLICY, STEWARD
from catalog.offload import in_thread
from policies.reports import short_id, when_text

TEMPLATES = Path(__file__).parent / "templates"
MAX_FORM_BYTES = 64 * 1024

_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]),
                   trim_blocks=True, lstrip_blocks=True)


def node_url(node_id: str | None) -> str:
    """The page of a node id: dataset:..., job:..., datasetField:... (its dataset's page) or run:...."""
    if not node_id:
        return "#"
    kind, _, rest = node_id.partition(":")
    if kind == "dataset":
        return "/dataset?" + urlencode({"id": node_id})
    if kind == "job":
        return "/job?" + urlencode({"id": node_id})
    if kind == "run":
        return "/run?" + urlencode({"id": rest})
    if kind == "datasetField":
        return "/dataset?" + urlencode({"id": "dataset:" + rest.rsplit(":", 1)[0]}) + "#field-" + rest.rsplit(":", 1)[1]
    return "#"


def web_link(url: str | None) -> str:
    """A link taken from event data (a job's source code URL), kept only when it is http(s): never javascript:."""
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else "#"


def query_url(path: str, **params) -> str:
    """``path`` with the non-empty ``params`` as its query string."""
    kept = {k: v for k, v in params.items() if v not in (None, "", False)}
    return path + ("?" + urlencode(kept) if kept else "")


def short_field(field_id: str) -> str:
    """``datasetField:ns:name:column`` -> ``ns/name.column``."""
    dataset, _, column = field_id.removeprefix("datasetField:").rpartition(":")
    return short_id("dataset:" + dataset) + "." + column


def flag(request: Request, name: str) -> bool:
    """A ticked box or an on/off query parameter (``?personal=1``, ``?columns=true``)."""
    return request.query_params.get(name) in ("1", "true", "on", "yes")


def link_params(filters: dict) -> dict:
    """A list page's filters as the query parameters of its links (search is ``q``, a ticked box 1)."""
    return {"q" if name == "search" else name: (1 if value is True else value) for name, value in filters.items()}


_env.filters.update(when=when_text, short=short_id, short_field=short_field, node_url=node_url,
                    web_link=web_link, fromjson=orjson.loads)
_env.globals.update(query_url=query_url)


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    who = principal(request)
    context.update(me=who, auth_on=not request.app.state.settings.no_auth,
                   can_steward=who.may(STEWARD), can_see_compliance=who.may(COMPLIANCE),
                   can_audit=who.may(AUDIT), can_load_policies=who.may(POLICY), path=request.url.path)
    return HTMLResponse(_env.get_template(template).render(**context), status_code=status)


def wants_page(request: Request) -> bool:
    """A browser loading a page (it asks for HTML), rather than an API client."""
    return request.method == "GET" and "text/html" in request.headers.get("accept", "") and \
        request.scope.get("state", {}).get("principal") is not None


ERROR_TITLES = {400: "Bad request", 403: "Not allowed", 404: "Not found", 409: "Busy"}


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    return render(request, "error.html", status=status, title=ERROR_TITLES.get(status, "Error"), message=message)


def not_found(request: Request, message: str) -> HTMLResponse:
    return error_page(request, 404, message)


def bad_request(request: Request, message: str) -> HTMLResponse:
    return error_page(request, 400, message)


def same_origin(endpoint):
    """``endpoint`` refusing form posts a page of another site sent (its Origin header names that site).

    With authentication on, the SameSite=Strict cookie already keeps other sites' posts unsigned;
    this also covers ``--no-auth``, where no cookie is needed at all.
    """
    async def checked(request: Request):
        # Host against host: behind a proxy that terminates TLS the schemes differ, the host does not.
        origin = request.headers.get("origin")
        if origin is not None and urlparse(origin).netloc != request.headers.get("host"):
            raise HTTPError(403, f"form posts from another site ({origin}) are refused", [{"header": "Origin"}])
        return await endpoint(request)
    checked.__name__ = endpoint.__name__
    return checked


async def call(request: Request, fn, *args, **kwargs):
    """``fn(store, *args)`` in a worker thread: the store is blocking."""
    return await in_thread(fn, request.app.state.catalog.store, *args, **kwargs)
