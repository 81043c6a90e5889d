"""Governance-log changes applied to the graph, whatever module recorded them.

Stewardship edits, classification scans/decisions, policy loads and audit runs are recorded in the governance log
and applied by their own module; this is the one place that maps an action to its applier,
for replaying the whole log after a rebuild or a graph that lost writes.
"""

from __future__ import annotations

from catalog import keys, stewardship
from catalog.govlog import GovernanceLog
from catalog.store import reads
from catalog.store.base import GraphStore
from policies import audit_runs, classifications, registry
from policies.propagate import Propagator


def apply_change(store: GraphStore, change: dict) -> None:
    if change["action"] in classifications.ACTIONS:
        classifications.apply_change(store, change)
    elif change["action"] in registry.ACTIONS:
        registry.apply_change(store, change)
    elif change["action"] in audit_runs.ACTIONS:
        audit_runs.apply_change(store, change)
    else:
        stewardship.apply_change(store, change)


def replay(store: GraphStore, log: GovernanceLog, propagator: Propagator | None = None) -> int:
    """Re-apply every recorded change in order, then re-derive propagated classifications."""
    count = 0
    for change in log.all():
        if change["action"] in keys.ACTIONS:  # recorded for the record; keys live outside the graph
            continue
        # Policies and audit runs create their node; other changes edit a node the events made (skip it if gone).
        creates = change["action"] in registry.ACTIONS + audit_runs.ACTIONS
        if creates or reads.nodes(store, change["detail"]["label"], [change["nodeId"]]):
            apply_change(store, change)
            count += 1
    if propagator:
        propagator.run()
    return count
