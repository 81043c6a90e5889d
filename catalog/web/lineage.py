"""The interactive lineage page: the graph is drawn in the browser (cytoscape.js, laid out by ELK)
from /graphql; the server only fills in the form."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from catalog.web.render import flag, render

DIRECTIONS = ("BOTH", "UPSTREAM", "DOWNSTREAM")


async def lineage_page(request: Request) -> Response:
    params = request.query_params
    max_depth = request.app.state.settings.max_lineage_depth
    try:
        depth = min(max(int(params.get("depth", 2)), 1), max_depth)
    except ValueError:
        depth = 2
    direction = params.get("direction", "BOTH").upper()
    return render(request, "lineage.html", node_id=params.get("nodeId", ""), depth=depth, max_depth=max_depth,
                  direction=direction if direction in DIRECTIONS else "BOTH",
                  columns=flag(request, "columns"))
