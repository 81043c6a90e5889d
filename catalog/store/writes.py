"""Graph writes: one parameterised openCypher query per write kind, run on both engines.

Rows are first compacted per identity (see :func:`compact`) so that a query never sees
the same node or edge twice: engines differ on whether later rows of an UNWIND observe
earlier rows' SETs, and compaction makes that question moot. Merging rows uses the same
commutative rules as the queries (min/max times, highest version wins), so compacting
first and then writing equals writing row by row, in any order.

Names from events travel only as parameters; labels, types and property names in the
query text come from this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from operator import itemgetter

from ingestors.openlineage import GraphWrites

SEARCHABLE = ("datasets", "jobs", "fields")  # write kinds whose nodes get a searchText


def search_words(text: str) -> list[str]:
    """Lower-case words of a name for the full-text index: split at punctuation, underscores and
    camelCase, so ``etl_orders7Days`` gives etl, orders7, days (full-text engines keep ``a_b`` whole)."""
    return re.findall(r"[^\W_]+", re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text).lower())


@lru_cache(maxsize=65_536)  # names recur: every run of a job names its job, datasets and their fields again
def search_text(name: str) -> str:
    """The searchText property of a node named ``name``: its search words, space-separated."""
    return " ".join(search_words(name))


def _seen(var: str) -> str:
    return (
        f"{var}.firstSeen = CASE WHEN {var}.firstSeen IS NULL OR r.first < {var}.firstSeen "
        f"THEN r.first ELSE {var}.firstSeen END, "
        f"{var}.lastSeen = CASE WHEN {var}.lastSeen IS NULL OR r.last > {var}.lastSeen "
        f"THEN r.last ELSE {var}.lastSeen END"
    )


def _named_node(label: str) -> str:
    return (
        f"UNWIND $rows AS r MERGE (n:{label} {{key: r.key}}) "
        f"SET n.namespace = r.namespace, n.name = r.name, n.searchText = r.searchText, {_seen('n')}"
    )


def _edge(src_label: str, rel: str, dst_label: str) -> str:
    return (
        f"UNWIND $rows AS r MATCH (a:{src_label} {{key: r.src}}) MATCH (b:{dst_label} {{key: r.dst}}) "
        f"MERGE (a)-[e:{rel}]->(b) SET {_seen('e')}"
    )


def _implied_input(src_label: str, rel: str) -> str:
    """An input named only by an output's column lineage: marked as such unless the edge already exists (an
    event listed it), so the mark stays only while no event lists the input, whatever the order."""
    return (
        f"UNWIND $rows AS r MATCH (a:{src_label} {{key: r.src}}) MATCH (b:Dataset {{key: r.dst}}) "
        f"MERGE (a)-[e:{rel}]->(b) ON CREATE SET e.impliedBy = 'columnLineage' SET {_seen('e')}"
    )


def _facets(label: str) -> str:
    # Per-facet last-writer-wins: each facet has its own version property (vprop).
    return (
        f"UNWIND $rows AS r MATCH (n:{label} {{key: r.key}}) "
        "WHERE n[r.vprop] IS NULL OR n[r.vprop] < r.v "
        "SET n += r.attrs, n += r.vmap"
    )


def _owner(target_label: str) -> str:
    return (
        f"UNWIND $rows AS r MATCH (t:{target_label} {{key: r.target}}) "
        "MERGE (o:Owner {key: r.owner}) SET o.name = r.name "
        f"MERGE (o)-[e:OWNS]->(t) SET e.type = r.type, {_seen('e')}"
    )


def _tag(target_label: str) -> str:
    return (
        f"UNWIND $rows AS r MATCH (t:{target_label} {{key: r.target}}) "
        "MERGE (g:Tag {key: r.tag}) SET g.name = r.name, g.value = r.value "
        f"MERGE (t)-[e:TAGGED]->(g) SET e.source = r.source, {_seen('e')}"
    )


NO_TIME = -(2**53)  # below any epoch-millisecond time


def run_order(var: str) -> str:
    """A run's place among its job's runs, latest first (then by key): its start, else when it was first seen.
    A run known only as another's parent has no time and comes last."""
    return f"coalesce({var}.startTime, {var}.firstSeen, {NO_TIME})"


def _ranked(var: str, order: str) -> str:
    """[order, key] of a matched node, or null when an OPTIONAL MATCH found none (collect leaves nulls out)."""
    return f"CASE WHEN {var} IS NULL THEN NULL ELSE [{order}, {var}.key] END"


def _first(found: str, tie: str) -> str:
    """The [order, key] pair of the list ``found`` with the highest order, ties to the key that compares ``tie``
    (``<``: the lowest key). A fold, not ORDER BY and collect: no sort, and Neo4j plans it fast from cold."""
    return (f"reduce(best = null, x IN {found} | CASE WHEN best IS NULL OR x[0] > best[0] "
            f"OR (x[0] = best[0] AND x[1] {tie} best[1]) THEN x ELSE best END)")


# Order matters: nodes before the edges that MATCH them.
QUERIES: dict[str, str] = {
    "namespaces": f"UNWIND $rows AS r MERGE (n:Namespace {{key: r.key}}) SET n.name = r.key, {_seen('n')}",
    "datasets": _named_node("Dataset"),
    "jobs": _named_node("Job"),
    "runs": (
        "UNWIND $rows AS r MERGE (n:Run {key: r.key}) "
        f"SET n.runId = r.runId, n.job = r.job, {_seen('n')}, "
        "n.startTime = CASE WHEN r.startTime IS NOT NULL AND (n.startTime IS NULL OR r.startTime < n.startTime) "
        "THEN r.startTime ELSE n.startTime END "
        "WITH n, r MATCH (j:Job {key: r.job}) MERGE (j)-[:HAS_RUN]->(n) "
        "WITH n, r WHERE n.stateKey IS NULL OR n.stateKey < r.stateKey "
        "SET n.stateKey = r.stateKey, n.state = r.state, n.endTime = r.endTime"
    ),
    "parents": (
        "UNWIND $rows AS r MATCH (c:Run {key: r.src}) MATCH (j:Job {key: r.job}) "
        "MERGE (p:Run {key: r.dst}) SET p.runId = r.runId, p.job = r.job "
        f"MERGE (j)-[:HAS_RUN]->(p) MERGE (c)-[e:CHILD_OF]->(p) SET {_seen('e')}"
    ),
    # Each job keeps its latest run (latestRun, and its run_order in latestRunAt), so that reads do not sort all
    # of a job's runs; one row per job. The runs of this write can only move the pointer forward, unless the run
    # it points at moved down (an earlier start arrived), went away or moved to another job: then all the job's
    # runs are read again. Each MATCH seeks null for the rows that do not need it, which finds nothing.
    "latest_runs": (
        "UNWIND $rows AS r MATCH (j:Job {key: r.job}) OPTIONAL MATCH (p:Run {key: j.latestRun}) "
        f"WITH r, j, p IS NULL OR p.job <> j.key OR {run_order('p')} < j.latestRunAt AS stale "
        "OPTIONAL MATCH (n:Run {job: CASE WHEN stale THEN r.job END}) "
        f"WITH r, j, stale, collect({_ranked('n', run_order('n'))}) AS all "
        "UNWIND CASE WHEN stale THEN [null] ELSE r.runs END AS k OPTIONAL MATCH (n:Run {key: k}) WHERE n.job = j.key "
        f"WITH j, stale, all, collect({_ranked('n', run_order('n'))}) AS touched "
        f"WITH j, stale, CASE WHEN stale THEN {_first('all', '<')} ELSE {_first('touched', '<')} END AS best "
        "WHERE stale OR best[0] > j.latestRunAt OR (best[0] = j.latestRunAt AND best[1] < j.latestRun) "
        "SET j.latestRun = best[1], j.latestRunAt = best[0]"
    ),
    # A new field gets its attributes in the same SET clause as its name: FalkorDB re-indexes a node once per
    # clause, and a field is in three indexes (two clauses made field rows about half again as costly).
    "fields": (
        "UNWIND $rows AS r MATCH (d:Dataset {key: r.dataset}) MERGE (n:Field {key: r.key}) "
        "ON CREATE SET n.dataset = r.dataset, n.name = r.name, n.searchText = r.searchText, "
        "n += CASE WHEN r.v <> '' THEN r.attrs ELSE {} END, n.v = CASE WHEN r.v <> '' THEN r.v END "
        "MERGE (d)-[:HAS_FIELD]->(n) "
        "WITH n, r WHERE r.v <> '' AND (n.v IS NULL OR n.v < r.v) SET n += r.attrs, n.v = r.v"
    ),
    "versions": (
        "UNWIND $rows AS r MATCH (d:Dataset {key: r.dataset}) "
        "MERGE (n:DatasetVersion {key: r.key}) "
        f"SET n.dataset = r.dataset, n.run = r.run, n.version = r.version, {_seen('n')} "
        "MERGE (d)-[:HAS_VERSION]->(n)"
    ),
    # Each dataset keeps its latest version (by last seen, then key) the same way, in latestVersion and
    # latestVersionAt. A version's last seen only grows: all of them are read only while the pointer is unset.
    "latest_versions": (
        "UNWIND $rows AS r MATCH (d:Dataset {key: r.dataset}) OPTIONAL MATCH (p:DatasetVersion {key: d.latestVersion}) "
        "WITH r, d, p IS NULL AS unset OPTIONAL MATCH (v:DatasetVersion {dataset: CASE WHEN unset THEN r.dataset END}) "
        f"WITH r, d, unset, collect({_ranked('v', 'v.lastSeen')}) AS all "
        "UNWIND CASE WHEN unset THEN [null] ELSE r.versions END AS k OPTIONAL MATCH (v:DatasetVersion {key: k}) "
        f"WITH d, unset, all, collect({_ranked('v', 'v.lastSeen')}) AS touched "
        f"WITH d, unset, CASE WHEN unset THEN {_first('all', '>')} ELSE {_first('touched', '>')} END AS best "
        "WHERE unset OR best[0] > d.latestVersionAt OR (best[0] = d.latestVersionAt AND best[1] > d.latestVersion) "
        "SET d.latestVersion = best[1], d.latestVersionAt = best[0]"
    ),
    "run_inputs": (
        "UNWIND $rows AS r MERGE (n:RunInput {key: r.key}) ON CREATE SET n.run = r.run, n.dataset = r.dataset"
    ),
    "dataset_facets": _facets("Dataset"),
    "job_facets": _facets("Job"),
    "run_facets": _facets("Run"),
    "runinput_facets": _facets("RunInput"),
    "datasetversion_facets": _facets("DatasetVersion"),
    # An input the event lists clears the mark an input implied by column lineage got (_implied_input).
    "consumes": _edge("Job", "CONSUMES", "Dataset") + ", e.impliedBy = null",
    "implied_consumes": _implied_input("Job", "CONSUMES"),
    "produces": _edge("Job", "PRODUCES", "Dataset"),
    "reads": _edge("Run", "READ", "Dataset") + ", e.impliedBy = null",
    "implied_reads": _implied_input("Run", "READ"),
    "wrote": _edge("Run", "WROTE", "Dataset"),
    "feeds": _edge("Dataset", "FEEDS", "Dataset"),
    "derives_from": (
        _edge("Field", "DERIVES_FROM", "Field") + " WITH e, r WHERE e.v IS NULL OR e.v < r.v SET e += r.attrs, e.v = r.v"
    ),
    "symlinks": _edge("Dataset", "SYMLINK", "Dataset") + ", e.type = r.type",
    "dataset_owners": _owner("Dataset"),
    "job_owners": _owner("Job"),
    "dataset_tags": _tag("Dataset"),
    "field_tags": _tag("Field"),
    "job_tags": _tag("Job"),
}

# Identity of a row per kind, for compaction.
_IDENTITY = {
    "namespaces": ("key",),
    "datasets": ("key",),
    "jobs": ("key",),
    "runs": ("key",),
    "parents": ("src", "dst"),
    "fields": ("key",),
    "versions": ("key",),
    "run_inputs": ("key",),
    "dataset_facets": ("key", "vprop"),
    "job_facets": ("key", "vprop"),
    "run_facets": ("key", "vprop"),
    "runinput_facets": ("key", "vprop"),
    "datasetversion_facets": ("key", "vprop"),
    "consumes": ("src", "dst"),
    "implied_consumes": ("src", "dst"),
    "produces": ("src", "dst"),
    "reads": ("src", "dst"),
    "implied_reads": ("src", "dst"),
    "wrote": ("src", "dst"),
    "feeds": ("src", "dst"),
    "derives_from": ("src", "dst"),
    "symlinks": ("src", "dst"),
    "dataset_owners": ("target", "owner"),
    "job_owners": ("target", "owner"),
    "dataset_tags": ("target", "tag"),
    "field_tags": ("target", "tag"),
    "job_tags": ("target", "tag"),
}

# Which row of two wins for the non-time columns: the one with the higher version.
_VERSION_COLUMN = {"runs": "stateKey", "fields": "v", "derives_from": "v", "dataset_facets": "v",
                   "job_facets": "v", "run_facets": "v", "runinput_facets": "v", "datasetversion_facets": "v"}


_SPAN = ("seen", "first", "last")  # when a row was seen, not what it says


def _wins(row: dict, current: dict, column: str | None) -> bool:
    """Whether ``row`` replaces ``current``: higher version, ties broken on the whole row."""
    if column:
        mine, theirs = row.get(column) or "", current.get(column) or ""
        if mine != theirs:
            return mine > theirs
    if all(current.get(k) == v for k, v in row.items() if k not in _SPAN):
        return False  # same content: nothing to choose (the common case, kept cheap)
    return _content(row) > _content(current)


def _content(row: dict) -> str:
    return repr(sorted((k, v) for k, v in row.items() if k not in _SPAN))


def identity(kind: str, row: dict) -> tuple:
    """What makes a row of ``kind`` the same node or edge as another."""
    return tuple(row[k] for k in _IDENTITY[kind])


# The same identity for merge_rows, where it is only a dict key: a scalar for one column, built in C.
_IDENTITY_KEY = {kind: itemgetter(*columns) for kind, columns in _IDENTITY.items()}


def _span(row: dict) -> tuple:
    """(first, last) times of a row: its ``seen``, or the span of rows merged before (a snapshot's)."""
    if "first" in row:
        return row["first"], row["last"]
    seen = row.get("seen")
    return seen, seen


def _earliest(a, b):
    return b if a is None else a if b is None else min(a, b)


def _latest(a, b):
    return b if a is None else a if b is None else max(a, b)


def merge_rows(writes: GraphWrites) -> dict[str, list[dict]]:
    """One row per identity and kind, merged commutatively; rows gain ``first``/``last`` and lose ``seen``.

    Rows already merged (with ``first``/``last``, as a snapshot keeps them) merge again with new ones to
    the same result as merging everything at once: that is what lets the event log's snapshot
    (:mod:`catalog.retention`) stand in for the events it replaced.
    """
    merged_by_kind: dict[str, list[dict]] = {}
    for kind, rows in writes.rows.items():
        column = _VERSION_COLUMN.get(kind)
        key_of = _IDENTITY_KEY[kind]
        merged: dict = {}
        for row in rows:
            ident = key_of(row)
            current = merged.get(ident)
            if current is None:  # most rows: copied, with their span
                current = merged[ident] = row.copy()
                seen = current.pop("seen", None)
                if "first" not in current:
                    current["first"] = current["last"] = seen
                continue
            first, last = _span(row)
            first, last = _earliest(current["first"], first), _latest(current["last"], last)
            start = current.get("startTime")
            if "startTime" in row:
                start = _earliest(start, row["startTime"])
            if _wins(row, current, column):
                current = {k: v for k, v in row.items() if k != "seen"}
            current.update(first=first, last=last)
            if "startTime" in row:
                current["startTime"] = start
            merged[ident] = current
        merged_by_kind[kind] = list(merged.values())
    return merged_by_kind


def _grouped(pairs: list[tuple[str, str]]) -> list[tuple[str, list[str]]]:
    """(group, member) pairs as (group, its members), both sorted."""
    members: dict[str, set[str]] = {}
    for group, member in pairs:
        members.setdefault(group, set()).add(member)
    return [(group, sorted(found)) for group, found in sorted(members.items())]


def compact(writes: GraphWrites) -> dict[str, list[dict]]:
    """:func:`merge_rows`, with what the queries derive from a row: its searchText, its facet's version map, the
    jobs and datasets whose latest run or version the write may change."""
    compacted = merge_rows(writes)
    runs = _grouped([(row["job"], row["key"]) for row in compacted.get("runs", ())] +
                    [(row["job"], row["dst"]) for row in compacted.get("parents", ())])
    if runs:
        compacted["latest_runs"] = [{"job": job, "runs": keys} for job, keys in runs]
    versions = _grouped([(row["dataset"], row["key"]) for row in compacted.get("versions", ())])
    if versions:
        compacted["latest_versions"] = [{"dataset": dataset, "versions": keys} for dataset, keys in versions]
    for kind, rows in compacted.items():
        if kind in SEARCHABLE:
            for row in rows:
                row["searchText"] = search_text(row["name"])
        elif kind.endswith("_facets"):
            for row in rows:
                row["vmap"] = {row["vprop"]: row["v"]}
    return compacted


def write_plan(writes: GraphWrites, chunk: int = 2000) -> list[tuple[str, str, list[dict]]]:
    """(kind, query, rows) in dependency order, rows chunked to bound each query; kinds without rows left out."""
    return [(kind, query, rows[start:start + chunk]) for kind, query, rows in every_kind_plan(writes)
            for start in range(0, len(rows), chunk)]


def every_kind_plan(writes: GraphWrites) -> list[tuple[str, str, list[dict]]]:
    """(kind, query, rows) for every kind in dependency order, each kind once and unchunked, its rows empty when
    the write has none: the same queries in the same order for any write (a one-statement commit keeps one text)."""
    rows_by_kind = compact(writes)
    return [(kind, query, rows_by_kind.get(kind) or []) for kind, query in QUERIES.items()]


# FalkorDB: the first statement to SET a property of freshly created nodes pays about half a millisecond, whatever
# its rows (by all signs a fold of the engine's pending matrix changes); the statements after it do not. A group's
# node kinds, each created and set in one statement, paid it once each. Creating the group's nodes first, bare,
# lets the first SET pay it once for all (docs/benchmarks.md). Only kinds whose statement SETs without ON CREATE:
# a node created beforehand ends up the same.
@dataclass(frozen=True)
class _Bare:
    query: str  # the bare MERGE
    columns: tuple[str, ...]  # the columns of the kind's rows it needs
    undo: str  # deletes the nodes of its rows that are still bare: the kind's statement always SETs that property


def _bare(label: str, always_set: str, match: str = "", columns: tuple[str, ...] = ("key",)) -> _Bare:
    return _Bare(f"UNWIND $rows AS r {match}MERGE (n:{label} {{key: r.key}})", columns,
                 f"UNWIND $rows AS r MATCH (n:{label} {{key: r.key}}) WHERE n.{always_set} IS NULL DETACH DELETE n")


# Keyed by the kind's statement.
_CREATED_FIRST = {
    QUERIES["namespaces"]: _bare("Namespace", "name"),
    QUERIES["datasets"]: _bare("Dataset", "name"),
    QUERIES["jobs"]: _bare("Job", "name"),
    QUERIES["runs"]: _bare("Run", "runId"),
    # As the versions statement creates one: only under a dataset that exists.
    QUERIES["versions"]: _bare("DatasetVersion", "dataset", "MATCH (d:Dataset {key: r.dataset}) ", ("key", "dataset")),
}

# A transaction does not roll back: when a kind's own statement fails (a value the engine refuses), the nodes its
# bare MERGE made would stay with nothing but their key, and later statements of the group may have joined edges to
# them. Each bare MERGE's undo, run with the same rows, removes them: the graph is as if the group had been sent
# without creating first.
UNDO_BARE = {bare.query: bare.undo for bare in _CREATED_FIRST.values()}


def created_first(statements: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
    """Bare MERGEs of the nodes ``statements`` create, to run before them. Only where nothing can read between the
    two: a reader would find nodes with nothing but their key (and see UNDO_BARE for a group that fails)."""
    made = []
    for cypher, params in statements:
        bare = _CREATED_FIRST.get(cypher)
        if bare:
            made.append((bare.query, {"rows": [{column: row[column] for column in bare.columns}
                                               for row in params["rows"]]}))
    return made
