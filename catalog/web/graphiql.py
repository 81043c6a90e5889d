"""GraphiQL at /graphql, from the libraries bundled in static/vendor: it works with no internet."""

from __future__ import annotations

from functools import cache

from catalog.web.render import TEMPLATES


@cache
def graphiql_html() -> str:
    return (TEMPLATES / "graphiql.html").read_text()
