"""Who is asking: API keys (``Authorization: Bearer <key>``, as openlineage-python's api_key
auth sends) or, for the web pages, the same key kept in a cookie by ``/login``.

Every request gets a principal in ``scope["state"]``; routes say which permission they need
with :func:`guarded`, GraphQL fields with ``catalog.api.graphql_auth``. With authentication
off (``catalog serve --no-auth``, local development only) everyone is a local admin.
Keys are never logged: only their id appears, as the actor ``key:<id>``.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse

from catalog.api.errors import HTTPError, error_response, unavailable_response
from catalog.keys import ROLES, ApiKey, namespace_allowed
from catalog.logstore.base import LogsUnavailable
from catalog.offload import in_thread

OPEN_PATHS = ("/health", "/metrics", "/login", "/logout")
OPEN_PREFIXES = ("/static/",)  # library code, styles and scripts: no data
COOKIE = "catalog_key"


@dataclass(frozen=True)
class Principal:
    actor: str
    role: str
    namespaces: tuple[str, ...] = ()
    key_id: str | None = None

    def may(self, permission: str) -> bool:
        return permission in ROLES[self.role]

    def may_write(self, namespace: str) -> bool:
        return namespace_allowed(self.namespaces, namespace)

    @classmethod
    def of(cls, key: ApiKey) -> "Principal":
        return cls(key.actor, key.role, key.namespaces, key.id)


LOCAL_DEVELOPER = Principal("anonymous", "admin")


def principal(request: Request) -> Principal:
    return request.scope["state"]["principal"]


def actor(request: Request) -> str:
    return principal(request).actor


def require(request: Request, permission: str) -> Principal:
    """The caller, if their role has ``permission``; 403 naming what is missing otherwise."""
    who = principal(request)
    if not who.may(permission):
        raise HTTPError(403, f"the {who.role} role may not do this: it needs the {permission!r} permission",
                        [{"role": who.role, "required": permission}])
    return who


def guarded(permission: str, endpoint):
    """``endpoint`` answering only callers whose role has ``permission``."""
    async def guarded_endpoint(request: Request):
        require(request, permission)
        return await endpoint(request)
    guarded_endpoint.permission = permission
    guarded_endpoint.__name__ = endpoint.__name__
    return guarded_endpoint


def bearer_token(headers: dict[bytes, bytes]) -> str | None:
    scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def cookie_token(headers: dict[bytes, bytes]) -> str | None:
    for part in headers.get(b"cookie", b"").decode("latin-1").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE and value:
            return value
    return None


class AuthMiddleware:
    """401 without a valid live key (a redirect to /login for browsers asking for a page)."""

    def __init__(self, app, enabled: bool):
        self.app = app
        self.enabled = enabled

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        state = scope.setdefault("state", {})
        if not self.enabled:
            state["principal"] = LOCAL_DEVELOPER
            return await self.app(scope, receive, send)
        state["principal"] = None
        if scope["path"] in OPEN_PATHS or scope["path"].startswith(OPEN_PREFIXES):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        token = bearer_token(headers) or cookie_token(headers)
        keys = scope["app"].state.catalog.keys
        try:
            # A shared database is a round trip away: off the event loop (a cached key costs nothing).
            key = (await in_thread(keys.authenticate, token) if keys.cache_seconds else keys.authenticate(token)
                   ) if token else None
        except LogsUnavailable as exc:
            return await unavailable_response(exc)(scope, receive, send)
        if key is not None:
            state["principal"] = Principal.of(key)
            return await self.app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 4401, "reason": "missing or invalid API key"})
        if scope["method"] == "GET" and b"text/html" in headers.get(b"accept", b"") and not bearer_token(headers):
            target = scope["path"] + ("?" + scope["query_string"].decode("latin-1") if scope["query_string"] else "")
            response = RedirectResponse("/login?next=" + quote(target, safe=""), status_code=303)
        elif token is None:
            response = error_response(401, "missing API key: send 'Authorization: Bearer <key>'",
                                      headers={"WWW-Authenticate": "Bearer"})
        else:
            response = error_response(401, "invalid or revoked API key",
                                      headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
        await response(scope, receive, send)
