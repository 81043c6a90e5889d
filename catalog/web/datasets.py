"""Dataset pages: the filtered, paged list, one dataset's page, and a steward's edits made on it.

Edits are plain form posts (the session cookie is SameSite=Strict, so other sites cannot forge
them), recorded through catalog.stewardship like the GraphQL mutations, then answered with a
redirect back to the page (post/redirect/get). A refused edit re-renders the page with the
reason and changes nothing.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from catalog import browse, stewardship
from catalog.api.auth import actor
from catalog.api.body import read_form
from catalog.offload import in_thread
from catalog.runtime import Catalog
from catalog.store import reads
from catalog.web.render import MAX_FORM_BYTES, bad_request, call, flag, link_params, node_url, not_found, render
from policies import classifications, registry

PAGE_SIZE = 50
LIST_ITEMS = 10  # versions and runs shown on a dataset page


def dataset_view(catalog: Catalog, key: str) -> dict | None:
    """Everything a dataset's page shows; None for an unknown dataset."""
    store = catalog.store
    found = reads.nodes(store, "Dataset", [key])
    if key not in found:
        return None
    props = found[key]
    fields = reads.fields_of(store, [key])[key]
    by_field = classifications.of_fields(store, [f["key"] for f in fields])
    jobs = reads.job_edges(store, [key])
    plans = registry.plans(store, key)
    return {
        "dataset": props,
        "description": props.get("stewardDescription") or props.get("description"),
        "fields": [{**f, "classifications": by_field.get(f["key"], [])} for f in fields],
        "owners": reads.owners_of(store, "Dataset", [key])[key],
        "tags": reads.tags_of(store, "Dataset", [key])[key],
        "governance": stewardship.governance(props),
        "versions": reads.versions_of(store, key, LIST_ITEMS),
        "runs": reads.runs_of_dataset(store, key, LIST_ITEMS),
        "assertions": reads.quality_assertions(store, key),
        # A plan holds the rules that apply, with why: one read of the dataset's facts serves both sections.
        "rules": [(plan.policy, rule.name, why) for plan in plans for rule, why in plan.rules],
        "plans": [plan.to_dict() for plan in plans],
        "history": catalog.governance.history(key, 50),
        "producers": sorted(j for j, rel, _ in jobs if rel == "PRODUCES"),
        "consumers": sorted(j for j, rel, _ in jobs if rel == "CONSUMES"),
        "facets": reads.facets_of(store, "Dataset", key),
    }


async def list_datasets(request: Request) -> Response:
    params = request.query_params
    filters = {"namespace": params.get("namespace") or None, "search": params.get("q") or None,
               "tag": params.get("tag") or None, "owner": params.get("owner") or None,
               "personal": flag(request, "personal"), "special": flag(request, "special")}
    try:
        page = await call(request, browse.datasets, **filters, first=PAGE_SIZE, after=params.get("after"))
    except browse.BrowseError as exc:
        return bad_request(request, str(exc))
    keys = [d["key"] for d in page.items]
    extra = await call(request, _list_extras, keys)
    choices = await call(request, browse.filter_choices)
    return render(request, "datasets.html", page=page, filters=filters, extra=extra, choices=choices,
                  after=params.get("after"), link_params=link_params(filters))


def _list_extras(store, keys: list[str]) -> dict[str, dict]:
    """Tags, owners and personal data categories of the datasets on one list page."""
    tags = reads.tags_of(store, "Dataset", keys)
    owners = reads.owners_of(store, "Dataset", keys)
    found = classifications.of_datasets(store, keys)
    return {k: {"tags": tags[k], "owners": [o["name"] for o in owners[k]],
                "categories": sorted({c["category"] for c in found[k] if c["state"] != "rejected"}),
                "special": any(c.get("special") and c["state"] != "rejected" for c in found[k])} for k in keys}


async def dataset_page(request: Request) -> Response:
    key = request.query_params.get("id") or ""
    if not key.startswith("dataset:"):
        return bad_request(request, "id must name a dataset: dataset:<namespace>:<name>")
    return await _render_dataset(request, key)


async def _render_dataset(request: Request, key: str, error: str | None = None, status: int = 200) -> Response:
    view = await in_thread(dataset_view, request.app.state.catalog, key)
    if view is None:
        return not_found(request, f"no dataset with id {key!r}")
    return render(request, "dataset.html", status=status, key=key, error=error,
                  done=request.query_params.get("done"), legal_bases=stewardship.LEGAL_BASES,
                  conditions=stewardship.SPECIAL_CATEGORY_CONDITIONS, **view)


def _governance_attrs(form: dict[str, list[str]]) -> dict:
    """The governance form's fields as set_governance takes them: an empty field clears its attribute."""
    def text(name: str) -> str | None:
        value = form.get(name, [""])[0].strip()
        return value or None

    attrs = {name: text(name) for name in ("legalBasis", "specialCategoryCondition", "purpose", "storageLocation",
                                           "storageCountry")}
    days = text("retentionDays")
    try:
        attrs["retentionDays"] = int(days) if days is not None else None
    except ValueError:
        raise stewardship.StewardshipError(f"retentionDays must be a whole number of days, got {days!r}") from None
    for name in ("dataSubjectCategories", "recipients"):
        items = [item.strip() for item in (text(name) or "").split(",") if item.strip()]
        attrs[name] = items or None
    return attrs


def _edit(catalog: Catalog, who: str, key: str, form: dict[str, list[str]]) -> str:
    """Apply one edit from the dataset page's forms; the name of what changed."""
    value = lambda name: form.get(name, [""])[0]  # noqa: E731
    action = value("action")
    store, log = catalog.store, catalog.governance
    if action == "description":
        stewardship.set_description(store, log, who, key, value("description"))
    elif action in ("add_tag", "remove_tag"):
        getattr(stewardship, action)(store, log, who, key, value("tag"))
    elif action == "add_owner":
        stewardship.add_owner(store, log, who, key, value("owner"), value("type").strip() or None)
    elif action == "remove_owner":
        stewardship.remove_owner(store, log, who, key, value("owner"))
    elif action == "governance":
        stewardship.set_governance(store, log, who, key, _governance_attrs(form))
    elif action in ("confirm", "reject"):
        field_id = value("field")
        if not field_id.startswith("datasetField:" + key.removeprefix("dataset:") + ":"):
            raise stewardship.StewardshipError(f"field {field_id!r} is not a column of this dataset")
        catalog.decide_classification(who, field_id, value("entity"), action == "confirm",
                                      value("note").strip() or None)
    else:
        raise stewardship.StewardshipError(f"unknown action {action!r}")
    return action


async def edit_dataset(request: Request) -> Response:
    form = await read_form(request, MAX_FORM_BYTES)
    key = form.get("id", [""])[0]
    if not key.startswith("dataset:"):
        return bad_request(request, "id must name a dataset: dataset:<namespace>:<name>")
    try:
        action = await in_thread(_edit, request.app.state.catalog, actor(request), key, form)
    except (stewardship.StewardshipError, classifications.ClassificationError) as exc:
        return await _render_dataset(request, key, error=str(exc), status=400)
    anchor = "#field-" + form["field"][0].rsplit(":", 1)[1] if action in ("confirm", "reject") else ""
    return RedirectResponse(node_url(key) + f"&done={action}" + anchor, status_code=303)
