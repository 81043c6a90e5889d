"""Per-request limits that protect the server from any one client: rate and time.

* Rate: a token bucket per API key; past it, 429 with ``Retry-After``. /health and /metrics
  are not limited, so probes keep working; nor is a server run with --no-auth (local
  development: there is no key to count by).
* Time: a request still unanswered after the limit gets 504; work already handed to the
  event log or the graph finishes on its own (events are deduplicated, so a retry is safe).
"""

from __future__ import annotations

import asyncio
import math
import time

from catalog.api.errors import error_response

UNLIMITED_PATHS = ("/health", "/metrics")
MAX_TRACKED_CLIENTS = 10_000


class TokenBuckets:
    """``rate`` requests per second with bursts of ``burst``, per client (an API key's id)."""

    def __init__(self, rate: float, burst: int, clock=time.monotonic):
        self.rate, self.burst, self.clock = rate, burst, clock
        self.buckets: dict[str, tuple[float, float]] = {}  # client -> (tokens, when)

    def take(self, client: str) -> float:
        """0 if the request may go ahead, else the seconds until it may."""
        now = self.clock()
        tokens, then = self.buckets.get(client, (self.burst, now))
        tokens = min(self.burst, tokens + (now - then) * self.rate)
        if tokens < 1:
            self.buckets[client] = (tokens, now)
            return (1 - tokens) / self.rate
        if len(self.buckets) >= MAX_TRACKED_CLIENTS and client not in self.buckets:
            self._forget_full_buckets(now)
        self.buckets[client] = (tokens - 1, now)
        return 0.0

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket refilled to the brim holds no information: dropping it changes nothing.
        self.buckets = {c: (t, w) for c, (t, w) in self.buckets.items() if t + (now - w) * self.rate < self.burst}


class RateLimitMiddleware:
    def __init__(self, app, per_second: float, burst: int):
        self.app = app
        self.buckets = TokenBuckets(per_second, burst) if per_second > 0 else None

    async def __call__(self, scope, receive, send):
        principal = scope.get("state", {}).get("principal")
        if (self.buckets is None or scope["type"] != "http" or scope["path"] in UNLIMITED_PATHS
                or not principal or not principal.key_id):
            return await self.app(scope, receive, send)
        wait = self.buckets.take(principal.key_id)
        if wait <= 0:
            return await self.app(scope, receive, send)
        response = error_response(
            429, f"rate limit exceeded: at most {self.buckets.rate:g} requests per second per key "
                 f"(bursts of {self.buckets.burst}); retry after the Retry-After seconds",
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
            await asyncio.wait_for(self.app(scope, receive, send_tracking), self.seconds)
        except asyncio.TimeoutError:
            if started:  # half a response is out; all that is left is to end the connection
                raise
            response = error_response(
                504, f"the request took longer than the limit of {self.seconds:g} s: narrow it (a smaller depth, "
                     f"page or batch) and retry")
            await response(scope, receive, send)
