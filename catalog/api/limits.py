"""Per-request limits that protect the server from any one client: rate and time.

* Rate: a token bucket per API key (across replicas); past it, 429 with ``Retry-After``. /health and /metrics
  are not limited, so probes keep working; nor is a server run with --no-auth (local
  development: there is no key to count by).
* Time: a request still unanswered after the limit gets 504; work already handed to the
  event log or the graph finishes on its own (events are deduplicated, so a retry is safe).
"""

from __future__ import annotations

import asyncio
import math

from catalog.api.errors import error_response, unavailable_response
from catalog.logstore.base import LogsUnavailable
from catalog.offload import in_thread

UNLIMITED_PATHS = ("/health", "/metrics")


class RateLimitMiddleware:
    """Takes a token from the key's bucket in the catalog's coordination: in memory for one process, in the
    shared database for replicas, so a key gets its rate across all of them together."""

    def __init__(self, app, per_second: float, burst: int):
        self.app = app
        self.rate, self.burst = per_second, burst

    async def __call__(self, scope, receive, send):
        principal = scope.get("state", {}).get("principal")
        if (self.rate <= 0 or scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS
                or not principal or not principal.key_id):
            return await self.app(scope, receive, send)
        coordination = scope["app"].state.catalog.logs.coordination
        try:
            if coordination.remote:
                wait = await in_thread(coordination.take_token, principal.key_id, self.rate, self.burst)
            else:
                wait = coordination.take_token(principal.key_id, self.rate, self.burst)
        except LogsUnavailable as exc:
            return await unavailable_response(exc)(scope, receive, send)
        if wait <= 0:
            return await self.app(scope, receive, send)
        response = error_response(
            429, f"rate limit exceeded: at most {self.rate:g} requests per second per key "
                 f"(bursts of {self.burst}); retry after the Retry-After seconds",
            headers={"Retry-After": str(max(1, math.ceil(wait)))})
        await response(scope, receive, send)


class TimeoutMiddleware:
    def __init__(self, app, seconds: float):
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.seconds <= 0:
            return await self.app(scope, receive, send)
        started = False

        async def send_tracking(message):
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            async with asyncio.timeout(self.seconds):  # in this task: no task per request, as wait_for makes
                await self.app(scope, receive, send_tracking)
        except TimeoutError:
            if started:  # half a response is out; all that is left is to end the connection
                raise
            response = error_response(
                504, f"the request took longer than the limit of {self.seconds:g} s: narrow it (a smaller depth, "
                     f"page or batch) and retry")
            await response(scope, receive, send)
