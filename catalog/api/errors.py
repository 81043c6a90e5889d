"""JSON error responses with a consistent shape: ``{"error": ..., "details": [...]}``."""

from __future__ import annotations

from starlette.responses import JSONResponse


class HTTPError(Exception):
    def __init__(self, status: int, message: str, details: list | None = None, headers: dict | None = None):
        self.status = status
        self.message = message
        self.details = details or []
        self.headers = headers
        super().__init__(message)


def error_response(status: int, message: str, details: list | None = None, headers: dict | None = None) -> JSONResponse:
    body = {"error": message}
    if details:
        body["details"] = details
    return JSONResponse(body, status_code=status, headers=headers)


def unavailable_response(exc: Exception) -> JSONResponse:
    """503 for a log database that cannot be reached: nothing was written, so the client retries as it is."""
    return error_response(503, "the catalog's database is unavailable; nothing was written, retry shortly",
                          [str(exc)[:500]], {"Retry-After": "2"})
