"""The graph's times (UTC epoch milliseconds) as the API's datetimes."""

from __future__ import annotations

from datetime import datetime, timezone


def datetime_of(ms: int | None) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc) if ms is not None else None
