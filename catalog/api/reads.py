"""Marquez-compatible reads: ``GET /api/v1/lineage`` and ``GET /api/v1/namespaces/{ns}/datasets/{name}``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from catalog.api.errors import HTTPError
from catalog.api.params import int_param
from catalog.api.responses import FastJSONResponse
from catalog.lineage import LineageError, dataset_data, iso, marquez_plan
from catalog.store import reads
from catalog.store.base import Plan
from ingestors.openlineage import dataset_id
from ingestors.validate import parse_event_time


async def get_lineage(request: Request) -> JSONResponse:
    settings = request.app.state.settings
    node_id = request.query_params.get("nodeId")
    if not node_id:
        raise HTTPError(400, "query parameter 'nodeId' is required, e.g. nodeId=dataset:<namespace>:<name>")
    depth = int_param(request, "depth", 20 if settings.max_lineage_depth >= 20 else settings.max_lineage_depth)
    as_of = None
    if request.query_params.get("asOf"):
        try:
            as_of = parse_event_time(request.query_params["asOf"])
        except ValueError:
            raise HTTPError(400, "query parameter 'asOf' must be an ISO-8601 date-time") from None
    store = request.app.state.catalog.store
    try:
        graph = await store.arun(marquez_plan(store, node_id, depth, max_depth=settings.max_lineage_depth,
                                              max_nodes=settings.max_lineage_nodes, as_of=as_of))
    except LineageError as exc:
        status = 404 if str(exc).startswith("no ") else 400
        raise HTTPError(status, str(exc)) from exc
    return FastJSONResponse(graph)


def _dataset_view(namespace: str, name: str) -> Plan[dict | None]:
    """Marquez's dataset view, in one round trip."""
    key = dataset_id(namespace, name)
    found, fields, owners, tags, version, facets = yield [
        reads.nodes_read("Dataset", [key]), reads.fields_read([key]), reads.owners_read("Dataset", [key]),
        reads.tags_read("Dataset", [key]), reads.latest_version_read(key), reads.facets_read("Dataset", key)]
    if not found:
        return None
    props = found[key]
    view = dataset_data(props, fields[key])
    view.update(
        type="DB_TABLE" if props.get("datasetType") in (None, "TABLE") else props["datasetType"],
        physicalName=props["name"],
        sourceUri=props.get("sourceUri"),
        tags=tags[key],
        owners=owners[key],
        lastModifiedAt=iso(version["lastSeen"]) if version else None,
        currentVersion=version["version"] if version else None,
        facets=facets,
    )
    return view


async def get_dataset(request: Request) -> JSONResponse:
    namespace, name = request.path_params["namespace"], request.path_params["name"]
    view = await request.app.state.catalog.store.arun(_dataset_view(namespace, name))
    if view is None:
        raise HTTPError(404, f"dataset {name!r} not found in namespace {namespace!r}")
    return FastJSONResponse(view)
