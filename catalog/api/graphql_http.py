"""The ASGI view at /graphql: GraphiQL (bundled, so it works offline), queries and mutations, subscriptions.

Every POST body is read within the server's body limit first (413 past it, gzip accepted, as on every other
route). The common request, one JSON operation, is then answered here in a few steps: decode, execute,
encode. Everything else (batches, multipart, streamed subscriptions, GET, WebSocket, malformed fields) goes to
strawberry's own view with the same body, so its answers and errors stay strawberry's.
"""

from __future__ import annotations

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from strawberry.asgi import GraphQL
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types.graphql import OperationType

from catalog.api.body import read_body
from catalog.api.graphql_context import Context
from catalog.api.responses import encode
from catalog.web.graphiql import graphiql_html

# Subscriptions sent by POST are streamed (multipart or server-sent events): strawberry's view does that.
ANSWERED_HERE = {OperationType.QUERY, OperationType.MUTATION}


class CatalogGraphQL(GraphQL):
    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await super().__call__(scope, receive, send)
        request = Request(scope, receive)
        body = await read_body(request, request.app.state.settings.max_body_bytes)
        request = Request(scope, _replay(body, receive))
        response = None
        if "application/json" in request.headers.get("content-type", ""):
            response = await self._answer(request, body)
        if response is None:
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        await response(scope, receive, send)

    async def _answer(self, request: Request, body: bytes) -> Response | None:
        """The answer to one JSON operation, or None for strawberry's view to give."""
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return PlainTextResponse("Unable to parse request body as JSON", status_code=400)
        if not isinstance(data, dict):
            return None
        query, variables = data.get("query"), data.get("variables")
        name, extensions = data.get("operationName"), data.get("extensions")
        if not (isinstance(query, str) and isinstance(variables, dict | None) and isinstance(name, str | None)
                and isinstance(extensions, dict | None)):
            return None
        try:
            result = await self.schema.execute(query, variable_values=variables,
                                               context_value=await self.get_context(request, None),
                                               operation_name=name, allowed_operation_types=ANSWERED_HERE,
                                               operation_extensions=extensions)
        except InvalidOperationTypeError:  # raised before anything ran
            return None
        except CannotGetOperationTypeError as exc:
            return PlainTextResponse(exc.as_http_error_reason(), status_code=400)
        return Response(self.encode_json(await self.process_result(request, result)), media_type="application/json")

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return encode(data)

    async def render_graphql_ide(self, request) -> HTMLResponse:
        return HTMLResponse(graphiql_html())

    async def get_context(self, request, response) -> Context:
        return Context(request.app.state, request.scope["state"]["principal"])


def _replay(body: bytes, receive):
    """An ASGI receive that hands over a body already read, then what the client sends next (a disconnect)."""
    replayed = False

    async def replay() -> dict:
        nonlocal replayed
        if replayed:
            return await receive()
        replayed = True
        return {"type": "http.request", "body": body, "more_body": False}
    return replay
