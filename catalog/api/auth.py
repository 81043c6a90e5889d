"""API-key authentication: ``Authorization: Bearer <key>``, as openlineage-python's api_key auth sends.

Keys come from settings (``CATALOG_API_KEYS``); with none configured the server is open, for
local development. Keys are compared in constant time and never logged. /health and
/metrics stay open for probes and scrapers.
"""

from __future__ import annotations

import hashlib
import hmac

from catalog.api.errors import error_response

OPEN_PATHS = ("/health", "/metrics")


class ApiKeyMiddleware:
    def __init__(self, app, keys: list[str]):
        self.app = app
        self.keys = [k.encode() for k in keys]

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            scope.setdefault("state", {})["actor"] = "anonymous"
        if scope["type"] not in ("http", "websocket") or not self.keys or scope["path"] in OPEN_PATHS:
            return await self.app(scope, receive, send)
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"bearer" or not token:
            response = error_response(401, "missing API key: send 'Authorization: Bearer <key>'",
                                      headers={"WWW-Authenticate": "Bearer"})
        elif not any(hmac.compare_digest(token.strip(), key) for key in self.keys):
            response = error_response(401, "invalid API key", headers={"WWW-Authenticate": "Bearer"})
        else:
            # Who made a change, for the governance log, without ever recording the key itself.
            scope["state"]["actor"] = "key:" + hashlib.sha256(token.strip()).hexdigest()[:12]
            return await self.app(scope, receive, send)
        await response(scope, receive, send)
