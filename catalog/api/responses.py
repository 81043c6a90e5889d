"""JSON responses encoded with orjson: on read-heavy routes, encoding with the standard library's
json took a measurable share of a request."""

from __future__ import annotations

import orjson
from starlette.responses import JSONResponse


def encode(content) -> bytes:
    return orjson.dumps(content, option=orjson.OPT_NON_STR_KEYS)


class FastJSONResponse(JSONResponse):
    def render(self, content) -> bytes:
        return encode(content)
