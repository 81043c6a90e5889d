"""Validate OpenLineage events against the spec's JSON Schemas.

The core schema (2-0-2) no longer references facet schemas, so standard facets are
validated one by one against ``spec/facets/<Name>.json`` by their key and location.
Leniency follows Marquez, because real producers rely on it: a missing ``schemaURL`` means
RunEvent, ``eventTime`` may lack a timezone, and string formats (uri, date-time) are not
enforced by the schema; times are parsed by :func:`parse_event_time` instead.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cache
from pathlib import Path

import jsonschema_rs
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

SPEC_DIR = Path(__file__).parent / "spec"
EVENT_TYPES = ("RunEvent", "DatasetEvent", "JobEvent")

# Facet containers in an event: where they sit, and which base facet they extend.
_FACET_LOCATIONS = {
    "RunFacet": ("run",),
    "JobFacet": ("job",),
    "DatasetFacet": ("dataset",),
    "InputDatasetFacet": ("input",),
    "OutputDatasetFacet": ("output",),
}


@dataclass(frozen=True)
class FieldError:
    """One problem with an event, located by a JSON pointer."""

    pointer: str
    message: str

    def as_dict(self) -> dict:
        return {"field": self.pointer, "message": self.message}


class InvalidEvent(ValueError):
    def __init__(self, errors: list[FieldError]):
        self.errors = errors
        super().__init__("; ".join(f"{e.pointer or '/'}: {e.message}" for e in errors))


def _relax(doc: dict) -> dict:
    """Accept what earlier facet versions allowed and real producers still send.

    DataQualityMetricsInputDatasetFacet 1-0-x required ``rowCount``; 1-0-3 requires
    ``columnMetrics``. Marquez and the OpenLineage proxy accept either, so do we.
    """
    definition = doc["$defs"].get("DataQualityMetricsInputDatasetFacet")
    if definition:
        body = definition["allOf"][1]
        body.pop("required", None)
        body["anyOf"] = [{"required": ["rowCount"]}, {"required": ["columnMetrics"]}]
    return doc


@cache
def _schema_docs() -> tuple[dict, list[dict]]:
    """The core schema and the (relaxed) facet schemas, read once for both validators."""
    core = json.loads((SPEC_DIR / "OpenLineage.json").read_text())
    facet_docs = [_relax(json.loads(p.read_text())) for p in sorted((SPEC_DIR / "facets").glob("*.json"))]
    return core, facet_docs


@cache
def _schemas() -> tuple[Registry, dict[str, Draft202012Validator], dict[tuple[str, str], Draft202012Validator]]:
    core, facet_docs = _schema_docs()
    registry = Registry().with_resources((doc["$id"], Resource.from_contents(doc)) for doc in [core, *facet_docs])

    events = {
        name: Draft202012Validator({"$ref": f"{core['$id']}#/$defs/{name}"}, registry=registry)
        for name in EVENT_TYPES
    }
    facets: dict[tuple[str, str], Draft202012Validator] = {}
    for doc in facet_docs:
        for key, prop in doc["properties"].items():
            # LineageFacet's key is shared by a dataset and a job facet (anyOf).
            for ref in [prop] if "$ref" in prop else prop.get("anyOf", []):
                name = ref["$ref"].rsplit("/", 1)[1]
                bases = [p["$ref"].rsplit("/", 1)[1] for p in doc["$defs"][name].get("allOf", []) if "$ref" in p]
                for base in bases:
                    for location in _FACET_LOCATIONS.get(base, ()):
                        schema = {"$ref": f"{doc['$id']}#/$defs/{name}"}
                        facets[(location, key)] = Draft202012Validator(schema, registry=registry)
    return registry, events, facets


@cache
def _fast_schemas() -> tuple[dict, dict]:
    """The same schemas compiled by jsonschema-rs: ~20x faster, used to pass valid events quickly.

    Only a verdict is taken from it; errors are always reported by the python validator,
    whose messages and pointers the API documents.
    """
    core, facet_docs = _schema_docs()
    registry = jsonschema_rs.Registry([(doc["$id"], doc) for doc in [core, *facet_docs]])

    def compile_ref(ref: str):
        return jsonschema_rs.Draft202012Validator({"$ref": ref}, registry=registry, validate_formats=False)

    _, events, facets = _schemas()
    fast_events = {name: compile_ref(v.schema["$ref"]) for name, v in events.items()}
    fast_facets = {key: compile_ref(v.schema["$ref"]) for key, v in facets.items()}
    return fast_events, fast_facets


def _facet_containers(event: dict, kind: str):
    """(location, facets, path) for every facet container of an event, path as JSON-pointer parts."""
    if kind == "RunEvent" and isinstance(event.get("run"), dict):
        yield "run", event["run"].get("facets"), ("run", "facets")
    if isinstance(event.get("job"), dict):
        yield "job", event["job"].get("facets"), ("job", "facets")
    if kind == "DatasetEvent" and isinstance(event.get("dataset"), dict):
        yield "dataset", event["dataset"].get("facets"), ("dataset", "facets")
    for side, extra, location in (("inputs", "inputFacets", "input"), ("outputs", "outputFacets", "output")):
        datasets = event.get(side) if isinstance(event.get(side), list) else []
        for index, dataset in enumerate(datasets):
            if isinstance(dataset, dict):
                yield "dataset", dataset.get("facets"), (side, index, "facets")
                yield location, dataset.get(extra), (side, index, extra)


def _unstorable_facet_name(key: str) -> bool:
    # Facet names become graph property names; FalkorDB cannot carry a backtick in one.
    return not key or "`" in key


def _quickly_valid(event: dict, kind: str) -> bool:
    events, facets = _fast_schemas()
    candidate = event if "schemaURL" in event else {**event, "schemaURL": "https://openlineage.io/"}
    if not events[kind].is_valid(candidate):
        return False
    for location, container, _ in _facet_containers(event, kind):
        if container is None:
            continue
        if not isinstance(container, dict):
            return False
        for key, facet in container.items():
            if _unstorable_facet_name(key):
                return False
            validator = facets.get((location, key))
            if validator is not None and not validator.is_valid(facet):
                return False
    try:
        parse_event_time(event["eventTime"])
    except ValueError:
        return False
    return True


def event_type(event: dict) -> str:
    """RunEvent, DatasetEvent or JobEvent, from the schemaURL fragment (none means RunEvent)."""
    url = event.get("schemaURL")
    if isinstance(url, str):
        for name in EVENT_TYPES:
            if url.endswith("/" + name):
                return name
    return "RunEvent"


_NO_TZ = re.compile(r"[+-]\d{2}:?\d{2}$|Z$", re.IGNORECASE)
_FRACTION = re.compile(r"(\.\d+)")


def parse_event_time(value: str) -> int:
    """ISO-8601 to UTC epoch milliseconds; no timezone means UTC, nanoseconds are cut."""
    text = value.strip()
    text = _FRACTION.sub(lambda m: m.group(1)[:7], text, count=1)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None or not _NO_TZ.search(value.strip()):
        parsed = parsed.replace(tzinfo=timezone.utc)
    return int(parsed.timestamp() * 1000)


def json_pointer(path) -> str:
    return "".join(f"/{str(p).replace('~', '~0').replace('/', '~1')}" for p in path)


def locate(value, matches: Callable[[str], bool], path: tuple = ()) -> str:
    """JSON pointer to the first string value, or object member by its name, that ``matches``; "" if none."""
    if isinstance(value, str):
        return json_pointer(path) if matches(value) else ""
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for name, child in items:
        if isinstance(name, str) and matches(name):
            return json_pointer(path + (name,))
        found = locate(child, matches, path + (name,))
        if found:
            return found
    return ""


def _schema_errors(validator: Draft202012Validator, instance, prefix: tuple) -> list[FieldError]:
    found = []
    for error in validator.iter_errors(instance):
        # allOf/anyOf wrap the real cause; report the deepest ones.
        leaves = [error]
        while leaves and any(e.context for e in leaves):
            leaves = [c for e in leaves for c in (e.context or [e])]
        for leaf in leaves:
            path = prefix + tuple(leaf.absolute_path)
            if leaf.validator == "required":
                missing = re.match(r"'(.*)' is a required property", leaf.message)
                if missing:
                    found.append(FieldError(json_pointer(path + (missing.group(1),)), "is required"))
                    continue
            found.append(FieldError(json_pointer(path), leaf.message))
    return found


def _facet_errors(facets, location: str, prefix: tuple) -> list[FieldError]:
    if facets is None:
        return []
    if not isinstance(facets, dict):
        return [FieldError(json_pointer(prefix), "facets must be an object")]
    _, _, validators = _schemas()
    errors = []
    for key, facet in facets.items():
        if _unstorable_facet_name(key):
            errors.append(FieldError(json_pointer(prefix + (key,)),
                                     "a facet name must be non-empty and contain no backtick"))
            continue
        validator = validators.get((location, key))
        if validator is None:
            if not isinstance(facet, dict):
                errors.append(FieldError(json_pointer(prefix + (key,)), "a facet must be an object"))
            continue
        errors.extend(_schema_errors(validator, facet, prefix + (key,)))
    return errors


def validate_event(event) -> str:
    """Raise InvalidEvent listing every problem; return the event type when valid."""
    if not isinstance(event, dict):
        raise InvalidEvent([FieldError("", "an event must be a JSON object")])
    kind = event_type(event)
    if _quickly_valid(event, kind):
        return kind
    _, validators, _ = _schemas()
    errors = [
        e
        for e in _schema_errors(validators[kind], event, ())
        # Marquez compatibility: producers omit schemaURL; the type then defaults to RunEvent.
        if e.pointer != "/schemaURL"
    ]
    time = event.get("eventTime")
    if isinstance(time, str):
        try:
            parse_event_time(time)
        except ValueError:
            errors.append(FieldError("/eventTime", f"not an ISO-8601 date-time: {time!r}"))
    for location, facets, path in _facet_containers(event, kind):
        errors += _facet_errors(facets, location, path)
    if errors:
        unique = list(dict.fromkeys(errors))
        raise InvalidEvent(unique)
    return kind
