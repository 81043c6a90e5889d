"""Query parameters with clear 400s: which parameter, what was wrong."""

from __future__ import annotations

from starlette.requests import Request

from catalog.api.errors import HTTPError


def int_param(request: Request, name: str, default: int | None, low: int | None = None,
              high: int | None = None) -> int | None:
    """An integer query parameter, ``default`` when absent; with ``low``/``high``, bounds checked too."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise HTTPError(400, f"query parameter {name!r} must be an integer, got {raw!r}",
                        [{"parameter": name}]) from None
    if low is not None and high is not None and not low <= value <= high:
        raise HTTPError(400, f"{name} must be between {low} and {high}, got {value}", [{"parameter": name}])
    return value
