"""The server's auditor on the live engine: one audit at a time, progress, failures reported."""

import threading

import pytest

from catalog.auditing import AuditBusy, Auditor
from catalog.logstore.sqlite_backend import LocalCoordination
from policies import audit_runs, registry
from tests.policies.audit_scenario import build, triples
from tests.policies.conftest import f


class GatedStore:
    """The real store, whose reads wait for a gate to open: holds an audit mid-run, deterministically."""

    def __init__(self, store):
        self.store = store
        self.gate = threading.Event()
        self.waiting = threading.Event()

    def query(self, cypher, params=None, read_only=False):
        if read_only and not self.gate.is_set():
            self.waiting.set()
            assert self.gate.wait(30), "gate never opened"
        return self.store.query(cypher, params, read_only)

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture
def scenario(store, tmp_path):
    log, policy = build(store, tmp_path)
    yield store, log, policy
    log.close()


def test_one_audit_at_a_time_with_progress(scenario):
    store, log, policy = scenario
    gated = GatedStore(store)
    auditor = Auditor(gated, log, LocalCoordination())
    started = auditor.start("officer", [policy])
    assert started["status"] == "running"
    assert gated.waiting.wait(10)
    with pytest.raises(AuditBusy, match=started["id"]):
        auditor.start("someone else", [policy])
    gated.gate.set()
    for _ in range(300):
        if auditor.progress(started["id"])["status"] != "running":
            break
        threading.Event().wait(0.05)
    assert auditor.progress(started["id"])["status"] == "complete"
    run = audit_runs.audit_run(store, started["id"])
    assert run["actor"] == "officer" and run["open"] > 0
    # Free again: the next audit runs, and waits for its result.
    second = auditor.run("officer", [policy])
    assert second["previous"] == started["id"] and second["new"] == 0


def test_the_active_policies_are_used_by_default(scenario):
    store, log, policy = scenario
    finished = []
    auditor = Auditor(store, log, LocalCoordination(), on_finish=lambda run, seconds: finished.append(run["id"]))
    bare = auditor.run("officer")
    assert bare["policies"] == [] and finished == [bare["id"]]
    assert "unanonymized-flow" not in bare["summary"]["byRule"], "that rule needs a policy"
    registry.record_policy(store, log, "officer", policy, "audit-scenario.yaml")
    run = auditor.run("officer")
    assert run["policies"] == [{"name": "audit-scenario", "version": policy.version}]
    assert ("unanonymized-flow", "dataset:food_delivery:public.top_delivery_times",
            f("public.top_delivery_times", "customer_email")) in triples(audit_runs.findings(store, run["id"]))


def test_a_failing_audit_is_reported_and_frees_the_auditor(scenario):
    store, log, policy = scenario

    class Broken(GatedStore):
        def query(self, cypher, params=None, read_only=False):
            raise RuntimeError("engine said no")

    auditor = Auditor(Broken(store), log, LocalCoordination())
    with pytest.raises(RuntimeError, match="engine said no"):
        auditor.run("officer", [policy])
    # The same error again, not AuditBusy: the failed audit released the auditor.
    with pytest.raises(RuntimeError, match="engine said no"):
        auditor.run("officer", [policy])
