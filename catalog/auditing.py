"""Audits on the server: one at a time, in a background thread, with progress to poll.

``start`` returns at once with the run's id (the CLI polls it and draws a progress bar);
``run`` waits for the result (GraphQL's ``runAudit``). Either way the audit reads the graph,
records the run in the governance log and writes it to the graph (see
:mod:`policies.audit_runs`). Progress of recent audits is kept in memory; finished runs are
read from the graph.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from catalog.govlog import GovernanceLog
from catalog.store.base import GraphStore
from policies import audit_runs, registry
from policies.audit import audit
from policies.policy import Policy

log = logging.getLogger("catalog.audit")
KEPT = 50  # progress entries of recent audits kept in memory


class AuditBusy(RuntimeError):
    def __init__(self, running: str):
        self.running = running
        super().__init__(f"audit {running} is still running; wait for it (GET /api/v1/audits/{running})")


class Auditor:
    def __init__(self, store: GraphStore, governance: GovernanceLog, on_finish=lambda run, seconds: None):
        self.store = store
        self.governance = governance
        self.on_finish = on_finish
        self._busy = threading.Lock()
        self._guard = threading.Lock()
        self._progress: OrderedDict[str, dict] = OrderedDict()

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
        with self._guard:
            entry = self._progress.get(run_id)
            return dict(entry) if entry else None

    def _claim(self) -> str:
        if not self._busy.acquire(blocking=False):
            with self._guard:
                running = next((k for k, v in reversed(self._progress.items()) if v["status"] == "running"), "?")
            raise AuditBusy(running)
        run_id = audit_runs.new_run_id()
        with self._guard:
            self._progress[run_id] = {"id": run_id, "status": "running", "phase": "starting", "done": 0, "total": 0}
            while len(self._progress) > KEPT:
                self._progress.popitem(last=False)
        return run_id

    def _update(self, run_id: str, **values) -> None:
        with self._guard:
            self._progress[run_id].update(values)

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
            self._busy.release()
