"""The catalog in the browser: server-rendered pages (Jinja2) over the same plain functions as the API.

Pages read through catalog.browse, catalog.store.reads, policies.* and write through
catalog.stewardship, exactly as GraphQL does; JavaScript is added only where it helps (the
lineage graph, GraphiQL). Every asset ships in the package (static/vendor): nothing is loaded
from the internet.
"""
