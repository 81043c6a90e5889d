"""Map OpenLineage events to graph writes.

An event becomes a :class:`GraphWrites`: rows per write kind (plain dicts), which the store
applies with one UNWIND query per kind. Every write is commutative and idempotent, so any
order of the same events, with duplicates, yields the same graph:

* first/last seen times merge with min/max;
* attributes taken from facets carry a version ``<eventTime ms>|<event hash>`` and the
  highest version wins, per facet (last writer wins, ties broken by the hash);
* run state carries ``<rank>|<eventTime ms>|<event hash>``: terminal states (COMPLETE,
  FAIL, ABORT) outrank RUNNING, which outranks START, which outranks OTHER;
* the start time is the earliest START, edges and nodes are MERGEd, never created twice.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict

import orjson

from ingestors.validate import event_type, parse_event_time

FACET_PREFIX = "facet:"
VERSION_PREFIX = "v:"
STATE_RANK = {"OTHER": 0, "START": 1, "RUNNING": 2, "COMPLETE": 3, "FAIL": 3, "ABORT": 3}
TERMINAL_STATES = {"COMPLETE", "FAIL", "ABORT"}
MASKING_SUBTYPES = {"MASKED", "HASHED", "AGGREGATION", "ANONYMIZED", "REDACTED", "TOKENIZED"}

# Facets whose content also becomes plain node attributes, for filtering and display.
_DATASET_ATTRS = {
    "documentation": lambda f: {"description": f.get("description")},
    "dataSource": lambda f: {"sourceName": f.get("name"), "sourceUri": f.get("uri")},
    "lifecycleStateChange": lambda f: {"lifecycleState": f.get("lifecycleStateChange")},
    "datasetType": lambda f: {"datasetType": f.get("datasetType")},
    "storage": lambda f: {"storageLayer": f.get("storageLayer"), "fileFormat": f.get("fileFormat")},
}
_JOB_ATTRS = {
    "documentation": lambda f: {"description": f.get("description")},
    "jobType": lambda f: {
        "jobType": f.get("jobType"),
        "integration": f.get("integration"),
        "processingType": f.get("processingType"),
    },
    "sql": lambda f: {"sql": f.get("query")},
    "sourceCodeLocation": lambda f: {"sourceCodeUrl": f.get("url"), "sourceCodeType": f.get("type")},
    "sourceCode": lambda f: {"sourceCodeLanguage": f.get("language")},
}
_RUN_ATTRS = {
    "nominalTime": lambda f: {
        "nominalStartTime": _time_or_none(f.get("nominalStartTime")),
        "nominalEndTime": _time_or_none(f.get("nominalEndTime")),
    },
    "errorMessage": lambda f: {"errorMessage": f.get("message"), "errorLanguage": f.get("programmingLanguage")},
}


def dataset_id(namespace: str, name: str) -> str:
    return f"dataset:{namespace}:{name}"


def job_id(namespace: str, name: str) -> str:
    return f"job:{namespace}:{name}"


def field_id(namespace: str, name: str, field: str) -> str:
    return f"datasetField:{namespace}:{name}:{field}"


def run_id(run: str) -> str:
    return f"run:{run}"


def canonical_json(event) -> str:
    """Compact JSON with sorted keys: equal events give equal text, hence equal hashes."""
    return orjson.dumps(event, option=orjson.OPT_SORT_KEYS).decode()


def event_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode()).hexdigest()


def _time_or_none(value) -> int | None:
    try:
        return parse_event_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


class GraphWrites:
    """Rows to write, grouped by write kind; the store knows one query per kind."""

    def __init__(self):
        self.rows: dict[str, list[dict]] = defaultdict(list)

    def add(self, kind: str, **row) -> None:
        self.rows[kind].append(row)

    def extend(self, other: "GraphWrites") -> None:
        for kind, rows in other.rows.items():
            self.rows[kind].extend(rows)

    def count(self) -> int:
        return sum(len(r) for r in self.rows.values())


class _EventMapper:
    def __init__(self, event: dict, digest: str, writes: GraphWrites):
        self.event = event
        self.writes = writes
        self.time = parse_event_time(event["eventTime"])
        self.version = f"{self.time:013d}|{digest}"
        self.digest = digest

    # nodes -----------------------------------------------------------------
    def namespace(self, name: str) -> None:
        self.writes.add("namespaces", key=name, seen=self.time)

    def dataset(self, dataset: dict) -> str:
        ns, name = dataset["namespace"], dataset["name"]
        key = dataset_id(ns, name)
        self.namespace(ns)
        self.writes.add("datasets", key=key, namespace=ns, name=name, seen=self.time)
        facets = dataset.get("facets") or {}
        self.facets(key, "Dataset", facets, _DATASET_ATTRS)
        schema = facets.get("schema") or {}
        for field in _flatten_fields(schema.get("fields") or []):
            fkey = field_id(ns, name, field["name"])
            self.writes.add(
                "fields",
                key=fkey,
                dataset=key,
                name=field["name"],
                v=self.version,
                attrs={"type": field.get("type"), "description": field.get("description")},
            )
            for tag in _field_tags(field.get("tags")):
                self.tag(fkey, "Field", tag)
        for tag in (facets.get("tags") or {}).get("tags") or []:
            self.tag(key, "Dataset", tag)
        for owner in (facets.get("ownership") or {}).get("owners") or []:
            self.writes.add("dataset_owners", target=key, owner=f"owner:{owner['name']}",
                            name=owner["name"], type=owner.get("type"), seen=self.time)
        for link in (facets.get("symlinks") or {}).get("identifiers") or []:
            alias = dataset_id(link["namespace"], link["name"])
            if alias != key:
                self.namespace(link["namespace"])
                self.writes.add("datasets", key=alias, namespace=link["namespace"], name=link["name"], seen=self.time)
                self.writes.add("symlinks", src=key, dst=alias, type=link.get("type"), seen=self.time)
        return key

    def tag(self, target: str, label: str, tag: dict) -> None:
        self.writes.add(
            f"{label.lower()}_tags",
            target=target,
            tag=f"tag:{tag['key']}={tag.get('value', '')}",
            name=tag["key"],
            value=tag.get("value"),
            source=tag.get("source"),
            seen=self.time,
        )

    def job(self, job: dict) -> str:
        key = job_id(job["namespace"], job["name"])
        self.namespace(job["namespace"])
        self.writes.add("jobs", key=key, namespace=job["namespace"], name=job["name"], seen=self.time)
        facets = job.get("facets") or {}
        self.facets(key, "Job", facets, _JOB_ATTRS)
        for owner in (facets.get("ownership") or {}).get("owners") or []:
            self.writes.add("job_owners", target=key, owner=f"owner:{owner['name']}",
                            name=owner["name"], type=owner.get("type"), seen=self.time)
        for tag in (facets.get("tags") or {}).get("tags") or []:
            self.tag(key, "Job", tag)
        return key

    def facets(self, owner: str, label: str, facets: dict, known: dict) -> None:
        """Facets live on their node as ``facet:<name>`` JSON (engines store no nested maps),
        each with its own version ``v:<name>``; known facets also set plain attributes."""
        for name, facet in facets.items():
            attrs = {FACET_PREFIX + name: canonical_json(facet)}
            if name in known:
                attrs.update(known[name](facet))
            self.writes.add(f"{label.lower()}_facets", key=owner, vprop=VERSION_PREFIX + name,
                            v=self.version, attrs=attrs)

    # edges -----------------------------------------------------------------
    def io(self, job_key: str, run_key: str | None, inputs: list[str], outputs: list[str]) -> None:
        for ds in inputs:
            self.writes.add("consumes", src=job_key, dst=ds, seen=self.time)
            if run_key:
                self.writes.add("reads", src=run_key, dst=ds, seen=self.time)
        for ds in outputs:
            self.writes.add("produces", src=job_key, dst=ds, seen=self.time)
            if run_key:
                self.writes.add("wrote", src=run_key, dst=ds, seen=self.time)
        # Derived dataset-to-dataset edges keep traversal to one edge type per direction.
        for src in inputs:
            for dst in outputs:
                self.writes.add("feeds", src=src, dst=dst, seen=self.time)

    def implied_inputs(self, job_key: str, run_key: str | None, implied: dict[str, set[str]]) -> None:
        """Datasets an output's column lineage reads from but the event does not list as inputs (dbt-ol
        leaves seeds out so): inputs all the same, marked, so dataset and column lineage agree."""
        for src, outputs in sorted(implied.items()):
            self.writes.add("implied_consumes", src=job_key, dst=src, seen=self.time)
            if run_key:
                self.writes.add("implied_reads", src=run_key, dst=src, seen=self.time)
            for dst in sorted(outputs):
                self.writes.add("feeds", src=src, dst=dst, seen=self.time)

    def column_lineage(self, output: dict, job_key: str) -> None:
        facet = (output.get("facets") or {}).get("columnLineage") or {}
        out_ns, out_name = output["namespace"], output["name"]
        out_ds = dataset_id(out_ns, out_name)
        for field_name, spec in (facet.get("fields") or {}).items():
            dst = field_id(out_ns, out_name, field_name)
            self.writes.add("fields", key=dst, dataset=out_ds, name=field_name, v="", attrs={})
            for source in spec.get("inputFields") or []:
                src_ds = dataset_id(source["namespace"], source["name"])
                src = field_id(source["namespace"], source["name"], source["field"])
                self.namespace(source["namespace"])
                self.writes.add("datasets", key=src_ds, namespace=source["namespace"], name=source["name"], seen=self.time)
                self.writes.add("fields", key=src, dataset=src_ds, name=source["field"], v="", attrs={})
                transformations = source.get("transformations") or []
                if not transformations and spec.get("transformationType"):
                    # Facet 1-0-x described the transformation once per output field.
                    transformations = [{"type": spec.get("transformationType"),
                                        "description": spec.get("transformationDescription")}]
                first = transformations[0] if transformations else {}
                masking = any(
                    t.get("masking") or (t.get("subtype") or "").upper() in MASKING_SUBTYPES
                    for t in transformations
                )
                self.writes.add(
                    "derives_from",
                    src=dst,
                    dst=src,
                    v=self.version,
                    seen=self.time,
                    attrs={
                        "type": first.get("type"),
                        "subtype": first.get("subtype"),
                        "description": first.get("description"),
                        "masking": masking,
                        "transformations": canonical_json(transformations),
                        "job": job_key,
                    },
                )

    def run(self, event: dict, job_key: str) -> str:
        run = event["run"]
        key = run_id(run["runId"])
        state = (event.get("eventType") or "OTHER").upper()
        rank = STATE_RANK.get(state, 0)
        self.writes.add(
            "runs",
            key=key,
            runId=run["runId"],
            job=job_key,
            seen=self.time,
            stateKey=f"{rank}|{self.time:013d}|{self.digest}",
            state=state,
            endTime=self.time if state in TERMINAL_STATES else None,
            startTime=self.time if state == "START" else None,
        )
        facets = run.get("facets") or {}
        self.facets(key, "Run", facets, _RUN_ATTRS)
        parent = facets.get("parent")
        if parent:
            parent_job = self.job(parent["job"])
            parent_key = run_id(parent["run"]["runId"])
            self.writes.add("parents", src=key, dst=parent_key, runId=parent["run"]["runId"],
                            job=parent_job, seen=self.time)
        return key


def _field_tags(tags) -> list[dict]:
    """A schema field's tags, which no facet schema describes: Marquez sends tag names, others TagsDatasetFacet-like
    objects. Only a list of those counts; a value or source that is not text is left out (a graph property holds no
    nested value)."""
    if not isinstance(tags, list):
        return []
    found = []
    for tag in tags:
        if isinstance(tag, str) and tag:
            found.append({"key": tag})
        elif isinstance(tag, dict) and isinstance(tag.get("key"), str) and tag["key"]:
            found.append({"key": tag["key"], **{name: tag[name] for name in ("value", "source")
                                                if isinstance(tag.get(name), str)}})
    return found


def _flatten_fields(fields: list, prefix: str = "") -> list[dict]:
    """Nested schema fields (structs) become dotted names, as column lineage names them."""
    flat = []
    for field in fields:
        if not isinstance(field, dict) or not field.get("name"):
            continue
        name = prefix + field["name"]
        flat.append({**field, "name": name})
        flat.extend(_flatten_fields(field.get("fields") or [], name + "."))
    return flat


def map_event(event: dict, digest: str, writes: GraphWrites | None = None) -> GraphWrites:
    """Add the writes for one validated event to ``writes`` (a new one if omitted)."""
    writes = writes if writes is not None else GraphWrites()
    mapper = _EventMapper(event, digest, writes)
    kind = event_type(event)
    if kind == "DatasetEvent":
        mapper.dataset(event["dataset"])
        return writes
    job_key = mapper.job(event["job"])
    run_key = mapper.run(event, job_key) if kind == "RunEvent" else None
    inputs = [mapper.dataset(d) for d in event.get("inputs") or []]
    outputs = [mapper.dataset(d) for d in event.get("outputs") or []]
    for dataset in event.get("inputs") or []:
        if dataset.get("inputFacets") and run_key:
            owner = f"{run_key}>{dataset_id(dataset['namespace'], dataset['name'])}"
            mapper.writes.add("run_inputs", key=owner, run=run_key,
                              dataset=dataset_id(dataset["namespace"], dataset["name"]))
            mapper.facets(owner, "RunInput", dataset["inputFacets"], {})
    for dataset in event.get("outputs") or []:
        mapper.column_lineage(dataset, job_key)
        if run_key:
            ds_key = dataset_id(dataset["namespace"], dataset["name"])
            version_facet = (dataset.get("facets") or {}).get("version") or {}
            version_key = f"datasetVersion:{dataset['namespace']}:{dataset['name']}:{event['run']['runId']}"
            mapper.writes.add("versions", key=version_key, dataset=ds_key, run=run_key,
                              version=version_facet.get("datasetVersion") or event["run"]["runId"],
                              seen=mapper.time)
            if dataset.get("outputFacets"):
                mapper.facets(version_key, "DatasetVersion", dataset["outputFacets"], {})
    mapper.io(job_key, run_key, inputs, outputs)
    listed = set(inputs) | set(outputs)
    implied: dict[str, set[str]] = defaultdict(set)
    for dataset in event.get("outputs") or []:
        facet = (dataset.get("facets") or {}).get("columnLineage") or {}
        # Per output field, and (facet 1-2-0) for the whole dataset: the columns joins, filters and groups read.
        sources = [source for spec in (facet.get("fields") or {}).values() for source in spec.get("inputFields") or []]
        for source in sources + (facet.get("dataset") or []):
            src = dataset_id(source["namespace"], source["name"])
            if src not in listed:
                implied[src].add(dataset_id(dataset["namespace"], dataset["name"]))
    mapper.implied_inputs(job_key, run_key, implied)
    return writes


# Row fields that hold node keys (the rows' own and those of the nodes they link).
_KEY_FIELDS = frozenset(("key", "src", "dst", "target", "owner", "tag", "dataset", "run", "job"))


def written_namespaces(writes: GraphWrites) -> set[str]:
    """Every namespace an event writes into: its job's, its datasets' (inputs, outputs, symlinks and column
    lineage sources) and its parent job's. Producer keys restricted to namespaces are checked against these."""
    return {row["key"] for row in writes.rows["namespaces"]}


def facet_names_with_backticks(writes: GraphWrites) -> list[str]:
    """Names of facets whose property names (``facet:<name>``, ``v:<name>``) hold a backtick, which FalkorDB's
    parameter syntax cannot carry as a map key (and a log may move between engines)."""
    return sorted({row["vprop"][len(VERSION_PREFIX):] for kind, rows in writes.rows.items() if kind.endswith("_facets")
                   for row in rows if "`" in row["vprop"]})


def unindexable_keys(writes: GraphWrites) -> list[str]:
    """Node keys that are empty or start or end with whitespace.

    FalkorDB (1.4 wheel) crashes enforcing a unique constraint on such a string, and would
    crash again replaying it after every restart, so events that make one are refused.
    """
    bad = {value for rows in writes.rows.values() for row in rows for name in _KEY_FIELDS.intersection(row)
           if isinstance(value := row[name], str) and (not value or value[0].isspace() or value[-1].isspace())}
    return sorted(bad)
