"""Audits on the server: one at a time, in a background thread, with progress to poll.

``start`` returns at once with the run's id (the CLI polls it and draws a progress bar);
``run`` waits for the result (GraphQL's ``runAudit``). Either way the audit reads the graph,
records the run in the governance log and writes it to the graph (see
:mod:`policies.audit_runs`). One audit runs at a time across every replica (the "audit" lease
of catalog.logstore), and progress goes where every replica can read it, so a client polling
through a load balancer sees it from any of them. Finished runs are read from the graph.
"""

from __future__ import annotations

import logging
import threading
import time

from catalog.govlog import GovernanceLog
from catalog.logstore.base import Coordination
from catalog.store.base import GraphStore
from policies import audit_runs, registry
from policies.audit import audit
from policies.policy import Policy

log = logging.getLogger("catalog.audit")
PROGRESS_EVERY = 0.5  # seconds between progress writes within a phase (a shared database gets one write, not 100K)


class AuditBusy(RuntimeError):
    def __init__(self, running: str):
        self.running = running
        super().__init__(f"audit {running} is still running; wait for it (GET /api/v1/audits/{running})")


class Auditor:
    def __init__(self, store: GraphStore, governance: GovernanceLog, coordination: Coordination,
                 on_finish=lambda run, seconds: None):
        self.store = store
        self.governance = governance
        self.coordination = coordination
        self.lease = coordination.lease("audit")  # across replicas
        self.on_finish = on_finish
        self._busy = threading.Lock()  # within this process (a lease is re-entrant for its holder)
        self._current: dict = {}
        self._saved_at = 0.0

    def start(self, actor: str, policies: list[Policy] | None = None) -> dict:
        """Begin an audit in the background; its progress entry (with the run id)."""
        run_id = self._claim()
        threading.Thread(target=self._in_background, args=(run_id, actor, policies), name=f"audit-{run_id}",
                         daemon=True).start()
        return self.progress(run_id)

    def run(self, actor: str, policies: list[Policy] | None = None) -> dict:
        """Audit now and return the recorded run; raises what the audit raised."""
        return self._execute(self._claim(), actor, policies)

    def progress(self, run_id: str) -> dict | None:
        return self.coordination.progress(run_id)

    def _claim(self) -> str:
        if not self._busy.acquire(blocking=False):
            raise AuditBusy(self.coordination.running_audit() or "?")
        try:
            if not self.lease.try_acquire():
                raise AuditBusy(self.coordination.running_audit() or "?")
            run_id = audit_runs.new_run_id()
            self._current = {"id": run_id, "status": "running", "phase": "starting", "done": 0, "total": 0}
            self.coordination.save_progress(self._current)
        except BaseException:
            self.lease.release()
            self._busy.release()
            raise
        return run_id

    def _update(self, run_id: str, **values) -> None:
        # Within a phase, write at most every PROGRESS_EVERY seconds; a new phase or status is written at once.
        news = values.get("phase") != self._current.get("phase") or "status" in values
        self._current.update(values)
        if news or time.monotonic() - self._saved_at >= PROGRESS_EVERY:
            self._saved_at = time.monotonic()
            self.coordination.save_progress(self._current)

    def _in_background(self, run_id: str, actor: str, policies: list[Policy] | None) -> None:
        try:
            self._execute(run_id, actor, policies)
        except Exception:  # logged and kept in the progress entry by _execute
            pass

    def _execute(self, run_id: str, actor: str, policies: list[Policy] | None) -> dict:
        started = time.perf_counter()
        try:
            chosen = registry.active_policies(self.store) if policies is None else policies
            result = audit(self.store, chosen, progress=lambda phase, done, total: self._update(
                run_id, phase=phase, done=done, total=total))
            self._update(run_id, phase="recording")
            run = audit_runs.record_run(self.store, self.governance, actor, result, run_id)
            seconds = time.perf_counter() - started
            self._update(run_id, status="complete", phase="complete")
            log.info("audit complete", extra={"run": run_id, "datasets": run["datasets"], "open": run["open"],
                                              "new": run["new"], "resolved": run["resolved"],
                                              "seconds": round(seconds, 2)})
            self.on_finish(run, seconds)
            return run
        except Exception as exc:
            log.exception("audit failed", extra={"run": run_id})
            self._update(run_id, status="failed", error=f"{type(exc).__name__}: {exc}")
            raise
        finally:
            self.lease.release()
            self._busy.release()
