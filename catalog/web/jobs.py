"""Job pages (the paged list and one job) and run pages: state, times, inputs and outputs, SQL, facets,
errors, parent and child runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from catalog import browse
from catalog.store import reads
from catalog.store.base import GraphStore
from catalog.web.render import bad_request, call, link_params, not_found, render

PAGE_SIZE = 50
RUNS_SHOWN = 20


def job_view(store: GraphStore, key: str) -> dict | None:
    """What a job's page shows; None for an unknown job."""
    found = reads.nodes(store, "Job", [key])
    if key not in found:
        return None
    inputs, outputs = reads.job_datasets(store, key)
    return {"job": found[key], "inputs": inputs, "outputs": outputs,
            "owners": reads.owners_of(store, "Job", [key])[key], "tags": reads.tags_of(store, "Job", [key])[key],
            "runs": browse.runs_of_job(store, key, RUNS_SHOWN), "facets": reads.facets_of(store, "Job", key)}


def run_view(store: GraphStore, run_id: str) -> dict | None:
    """What a run's page shows; None for an unknown run."""
    key = f"run:{run_id}"
    found = reads.nodes(store, "Run", [key])
    if key not in found:
        return None
    run = found[key]
    inputs, outputs = reads.run_datasets(store, key)
    parent, children = reads.run_family(store, key)
    facets = reads.facets_of(store, "Run", key)
    return {"run": run, "inputs": inputs, "outputs": outputs, "parent": parent, "children": children,
            "facets": facets, "error": facets.get("errorMessage"),
            "duration": (run["endTime"] - run["startTime"]) / 1000 if run.get("endTime") and run.get("startTime")
            else None}


async def list_jobs(request: Request) -> Response:
    params = request.query_params
    filters = {"namespace": params.get("namespace") or None, "search": params.get("q") or None,
               "tag": params.get("tag") or None, "owner": params.get("owner") or None}
    try:
        page = await call(request, browse.jobs, **filters, first=PAGE_SIZE, after=params.get("after"))
    except browse.BrowseError as exc:
        return bad_request(request, str(exc))
    latest = await call(request, reads.latest_runs, [j["key"] for j in page.items])
    choices = await call(request, browse.filter_choices)
    return render(request, "jobs.html", page=page, latest=latest, filters=filters, choices=choices,
                  after=params.get("after"), link_params=link_params(filters))


async def job_page(request: Request) -> Response:
    key = request.query_params.get("id") or ""
    if not key.startswith("job:"):
        return bad_request(request, "id must name a job: job:<namespace>:<name>")
    view = await call(request, job_view, key)
    if view is None:
        return not_found(request, f"no job with id {key!r}")
    return render(request, "job.html", key=key, **view)


async def run_page(request: Request) -> Response:
    run_id = (request.query_params.get("id") or "").removeprefix("run:")
    if not run_id:
        return bad_request(request, "id must name a run: its runId")
    view = await call(request, run_view, run_id)
    if view is None:
        return not_found(request, f"no run with id {run_id!r}")
    return render(request, "run.html", **view)
