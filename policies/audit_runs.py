"""Audit runs in the catalog: recorded, compared with the previous run, and read back.

A run is recorded in the governance log (who, when, which policy versions, every finding),
then written to the graph as ``(:AuditRun)-[:FOUND]->(:Finding)``. Each finding of a run is
``new`` (its fingerprint, rule + dataset + field, was not open in the previous run) or
``unchanged``; findings of the previous run that are gone are kept on the new run as
``resolved``, so one run answers "what changed since last time". Like every governance
change, runs are replayed from the log after a rebuild.
"""

from __future__ import annotations

import uuid
from collections import Counter

import orjson

from catalog.govlog import GovernanceLog
from catalog.store.base import GraphStore
from policies.audit import SEVERITIES, AuditResult, no_cyclic_gc, severity_rank

RUN = "audit_run"
ACTIONS = (RUN,)
STATUSES = ("new", "unchanged", "resolved")
WRITE_BATCH = 5_000


class AuditRunError(ValueError):
    pass


def run_key(run_id: str) -> str:
    return f"audit:{run_id}"


def latest_run(store: GraphStore) -> dict | None:
    newest = runs(store, 1)
    return newest[0] if newest else None


def new_run_id() -> str:
    return uuid.uuid4().hex[:16]


def record_run(store: GraphStore, log: GovernanceLog, actor: str, result: AuditResult,
               run_id: str | None = None) -> dict:
    """Compare ``result`` with the latest run, record it and write it; returns the new run."""
    with no_cyclic_gc():  # as for the audit: ~90K findings' dicts at 100K datasets, none in cycles
        return _record_run(store, log, actor, result, run_id)


def _record_run(store: GraphStore, log: GovernanceLog, actor: str, result: AuditResult,
                run_id: str | None) -> dict:
    previous = latest_run(store)
    held = _open_keys(store, previous["id"]) if previous else {}
    findings = []
    for finding in result.findings:
        row = finding.to_dict()
        row["status"] = "unchanged" if row["fingerprint"] in held else "new"
        findings.append(row)
    current = {f["fingerprint"] for f in findings}
    gone = [key for fingerprint, key in held.items() if fingerprint not in current]
    findings += [{k: f[k] for k in FINDING_FIELDS} | {"status": "resolved"} for f in _by_keys(store, gone)]
    findings.sort(key=finding_order)  # stored in this order: pages are index ranges
    run_id = run_id or new_run_id()
    detail = {"label": "AuditRun", "id": run_id, "startedAt": result.started_at, "finishedAt": result.finished_at,
              "policies": result.policies, "datasets": result.datasets,
              "previous": previous["id"] if previous else None, "findings": findings}
    change = log.record(actor, run_key(run_id), RUN, detail)
    apply_change(store, change)
    return audit_run(store, run_id)


def _summarize(findings: list[dict]) -> dict:
    """Counts of open findings by severity, article, rule and namespace, and of each status."""
    open_ = [f for f in findings if f["status"] != "resolved"]
    by_severity = Counter(f["severity"] for f in open_)
    return {
        "open": len(open_),
        "byStatus": {s: sum(1 for f in findings if f["status"] == s) for s in STATUSES},
        "bySeverity": {s: by_severity.get(s, 0) for s in reversed(SEVERITIES)},
        "byArticle": dict(sorted(Counter(f["article"] for f in open_).items())),
        "byRule": dict(sorted(Counter(f["rule"] for f in open_).items())),
        "byNamespace": dict(sorted(Counter(f["namespace"] for f in open_).items())),
        "datasetsWithFindings": len({f["dataset"] for f in open_}),
    }


def apply_change(store: GraphStore, change: dict) -> None:
    """Write one recorded run to the graph; idempotent, so replays are safe."""
    detail = change["detail"]
    key = change["nodeId"]
    rows = [_finding_row(detail["id"], i, f) for i, f in enumerate(detail["findings"])]
    summary = _summarize(rows)
    props = {"id": detail["id"], "startedAt": detail["startedAt"], "finishedAt": detail["finishedAt"],
             "actor": change["actor"], "recordedAt": change["at"], "seq": change["seq"],
             "policies": orjson.dumps(detail["policies"]).decode(), "datasets": detail["datasets"],
             "previous": detail["previous"], "summary": orjson.dumps(summary).decode(), "open": summary["open"],
             **{status: count for status, count in summary["byStatus"].items()}}
    # Replacing the run's findings wholesale keeps replays idempotent and lets new ones be CREATEd (fast).
    writes = [("MERGE (a:AuditRun {key: $key}) SET a += $props", {"key": key, "props": props}),
              ("MATCH (f:Finding {run: $id}) DETACH DELETE f", {"id": detail["id"]})]
    for start in range(0, len(rows), WRITE_BATCH):
        writes.append((
            "MATCH (a:AuditRun {key: $key}) UNWIND $rows AS r CREATE (a)-[:FOUND]->(f:Finding) SET f = r",
            {"key": key, "rows": rows[start:start + WRITE_BATCH]}))
    store.execute_writes(writes)


FINDING_FIELDS = ("rule", "article", "severity", "namespace", "dataset", "field", "message", "remediation",
                  "evidence", "fingerprint")


def finding_order(finding: dict):
    """Open findings before resolved ones, most severe first, then by dataset, field and rule."""
    return (finding["status"] == "resolved", -severity_rank(finding["severity"]), finding["dataset"],
            finding["field"] or "", finding["rule"])


def _finding_row(run_id: str, index: int, finding: dict) -> dict:
    row = {k: finding[k] for k in FINDING_FIELDS}
    row.update(key=f"finding:{run_id}:{index}", run=run_id, index=index, status=finding["status"],
               severityRank=severity_rank(finding["severity"]), evidence=orjson.dumps(finding["evidence"]).decode())
    return row


# reads -----------------------------------------------------------------------------------
def _run(props: dict) -> dict:
    run = {"previous": None} | props
    run["policies"] = orjson.loads(run["policies"])
    run["summary"] = orjson.loads(run["summary"])
    return run


def _finding(props: dict) -> dict:
    finding = {"field": None} | props  # engines do not store null properties
    finding["evidence"] = orjson.loads(finding["evidence"])
    return finding


def runs(store: GraphStore, first: int = 20) -> list[dict]:
    rows = store.query("MATCH (a:AuditRun) RETURN a {.*} AS a ORDER BY a.startedAt DESC, a.key DESC LIMIT $first",
                       {"first": first}, read_only=True)
    return [_run(r["a"]) for r in rows]


def audit_run(store: GraphStore, run_id: str) -> dict | None:
    rows = store.query("MATCH (a:AuditRun {key: $key}) RETURN a {.*} AS a", {"key": run_key(run_id)},
                       read_only=True)
    return _run(rows[0]["a"]) if rows else None


def resolve_run(store: GraphStore, run_id: str | None) -> dict:
    """The run with this id, or the latest one for None; AuditRunError when there is none."""
    run = audit_run(store, run_id) if run_id else latest_run(store)
    if run is None:
        raise AuditRunError(f"no audit run with id {run_id!r}" if run_id else "no audit has run yet")
    return run


def findings(store: GraphStore, run_id: str, min_severity: str | None = None, rule: str | None = None,
             status: str | None = None, namespace: str | None = None, dataset: str | None = None,
             first: int | None = None, after: int | None = None) -> list[dict]:
    """A run's findings in :func:`finding_order`; ``after`` is the index of the last one already seen."""
    if status is not None and status not in STATUSES:
        raise AuditRunError(f"status must be one of {', '.join(STATUSES)}, got {status!r}")
    if min_severity is not None and min_severity not in SEVERITIES:
        raise AuditRunError(f"severity must be one of {', '.join(SEVERITIES)}, got {min_severity!r}")
    rows = store.query(
        "MATCH (f:Finding {run: $run}) WHERE ($rank IS NULL OR f.severityRank >= $rank) "
        "AND ($rule IS NULL OR f.rule = $rule) AND ($status IS NULL OR f.status = $status) "
        "AND ($namespace IS NULL OR f.namespace = $namespace) AND ($dataset IS NULL OR f.dataset = $dataset) "
        "AND ($after IS NULL OR f.index > $after) RETURN f {.*} AS f ORDER BY f.index"
        + (" LIMIT $first" if first is not None else ""),
        {"run": run_id, "rank": severity_rank(min_severity) if min_severity else None, "rule": rule,
         "status": status, "namespace": namespace, "dataset": dataset, "after": after, "first": first},
        read_only=True)
    return [_finding(r["f"]) for r in rows]


def _open_keys(store: GraphStore, run_id: str) -> dict[str, str]:
    """Fingerprint -> finding key of a run's open findings (the small read a new run compares with)."""
    rows = store.query("MATCH (f:Finding {run: $run}) WHERE f.status <> 'resolved' "
                       "RETURN f.fingerprint AS fingerprint, f.key AS key", {"run": run_id}, read_only=True)
    return {r["fingerprint"]: r["key"] for r in rows}


def _by_keys(store: GraphStore, keys: list[str]) -> list[dict]:
    rows = store.query("UNWIND $keys AS k MATCH (f:Finding {key: k}) RETURN f {.*} AS f", {"keys": keys},
                       read_only=True)
    return [_finding(r["f"]) for r in rows]
