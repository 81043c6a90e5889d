"""Request bodies: bounded reads, gzip decoding, JSON parsing, each with a clear error."""

from __future__ import annotations

import zlib
from urllib.parse import parse_qs

import orjson

from starlette.requests import Request

from catalog.api.errors import HTTPError


async def read_body(request: Request, max_bytes: int) -> bytes:
    """The body, gunzipped if sent so; 413 past ``max_bytes`` (compressed or not), 400 if unreadable."""
    encoding = request.headers.get("content-encoding", "identity").lower().strip()
    request.app.state.metrics.bodies.labels(encoding if encoding in ("identity", "gzip") else "other").inc()
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HTTPError(413, f"request body of {declared} bytes exceeds the limit of {max_bytes} bytes")
    if encoding not in ("identity", "gzip"):
        raise HTTPError(415, f"unsupported Content-Encoding {encoding!r}; send identity or gzip")
    # wbits 47: gzip or zlib header, detected automatically.
    inflater = zlib.decompressobj(47) if encoding == "gzip" else None
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            if inflater:
                chunk = inflater.decompress(chunk, max_bytes + 1 - size)
                if inflater.unconsumed_tail:
                    size = max_bytes + 1
            size += len(chunk)
            if size > max_bytes:
                raise HTTPError(413, f"request body exceeds the limit of {max_bytes} bytes")
            chunks.append(chunk)
        if inflater:
            tail = inflater.flush()
            size += len(tail)
            if size > max_bytes:
                raise HTTPError(413, f"request body exceeds the limit of {max_bytes} bytes")
            chunks.append(tail)
    except zlib.error as exc:
        raise HTTPError(400, f"body is not valid gzip: {exc}") from exc
    return b"".join(chunks)


async def read_json(request: Request, max_bytes: int):
    """The decoded JSON body (see :func:`read_body`); 400 if empty or not JSON."""
    raw = await read_body(request, max_bytes)
    if not raw.strip():
        raise HTTPError(400, "request body is empty; send a JSON OpenLineage event")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPError(400, f"body is not valid JSON: {exc}") from exc


async def read_form(request: Request, max_bytes: int) -> dict[str, list[str]]:
    """An ``application/x-www-form-urlencoded`` body (see :func:`read_body`), each name with its values."""
    return parse_qs((await read_body(request, max_bytes)).decode("utf-8", "replace"), keep_blank_values=True)
