"""Ingestion: validate, append to the event log, project into the graph.

The request path is ``prepare_event`` (validate, canonicalise) then
``IngestPipeline.submit``. The pipeline group-commits: every event waiting when the worker
wakes goes to the log in one SQLite transaction (one fsync) and to the graph in one set of
UNWIND queries, so concurrent single posts cost about as much as a batch.

The graph is a projection of the log. ``Projector`` applies logged events and advances
the checkpoint stored in the graph; after a crash, or while the engine was away, it
catches up from that checkpoint. Writes are idempotent, so re-applying is harmless.

Replicas sharing one log and one graph take turns through the "projector" lease
(catalog.logstore): the replica holding it projects every replica's events, reading them from
the log; the others only append and acknowledge. When the holder dies the lease is free and the
next replica to try takes it over and goes on from the graph's checkpoint.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from catalog import changes, retention as retention_rules
from catalog.config import ACKNOWLEDGE_MODES
from catalog.eventlog import EventLog, LoggedEvent
from catalog.govlog import GovernanceLog
from catalog.logstore.base import Lease, LogsUnavailable
from catalog.logstore.sqlite_backend import LocalLease
from catalog.store.base import GraphStore, GraphUnavailable
from policies.propagate import Propagator
from ingestors.openlineage import GraphWrites, canonical_json, event_hash, facet_names_with_backticks, map_event, \
    unindexable_keys, written_namespaces
from ingestors.validate import FieldError, InvalidEvent, locate, parse_event_time, validate_event

log = logging.getLogger("catalog.ingest")


@dataclass(frozen=True)
class PreparedEvent:
    event: dict
    body: str
    digest: str
    kind: str
    time: int
    writes: GraphWrites  # mapped once here; the projector applies them

    @property
    def namespaces(self) -> set[str]:
        """Every namespace the event writes into."""
        return written_namespaces(self.writes)


@dataclass(frozen=True)
class Accepted:
    seq: int
    new: bool


def prepare_event(event) -> PreparedEvent:
    """Validate one decoded event; raises ingestors.validate.InvalidEvent."""
    kind = validate_event(event)
    try:
        body = canonical_json(event)
    except TypeError as exc:  # e.g. an integer beyond 64 bits
        raise InvalidEvent([FieldError("", f"event cannot be stored: {exc}")]) from exc
    if "\\u0000" in body and _ESCAPED_NUL.search(body):  # the substring test first: the regex costs more
        raise InvalidEvent([FieldError(locate(event, lambda text: "\x00" in text),
                                       "text must not contain the NUL character (\\u0000)")])
    digest = event_hash(body)
    try:
        writes = map_event(event, digest)
    except (TypeError, AttributeError, KeyError, ValueError) as exc:
        # Valid by the spec, yet a shape the mapping did not expect (a bug to fix): refused whole, never a 500
        # that would also fail the rest of a batch.
        log.exception("a valid event could not be mapped to graph writes; refused")
        raise InvalidEvent([FieldError("", f"event cannot be mapped to the graph: {type(exc).__name__}: {exc}")]) \
            from exc
    if "`" in body:
        unstorable = facet_names_with_backticks(writes)
        if unstorable:
            raise InvalidEvent([FieldError(locate(event, name.__eq__),
                                           "facet names must not contain a backtick (`): a graph property is "
                                           "named after each facet, and FalkorDB cannot name one so")
                                for name in unstorable])
    unindexable = unindexable_keys(writes)
    if unindexable:
        def source_of(key: str) -> str:
            return locate(event, lambda text: (not text or text != text.strip()) and key.endswith(text))

        raise InvalidEvent([FieldError(source_of(key), "names (namespaces, datasets, jobs, fields, owners, tags) "
                                                       "must not be empty or start or end with whitespace")
                            for key in unindexable])
    return PreparedEvent(event, body, digest, kind, parse_event_time(event["eventTime"]), writes)


# "\u0000" in the canonical JSON, not preceded by an escaped backslash: a NUL in some string or key. The graph
# engine's query parser stops at a NUL, so such an event could never be written.
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class GraphOfAnotherLog(GraphUnavailable):
    """The graph was written from another catalog's event log: claimed by another catalog's id, or checkpointed
    past this log's last event. Taken as it is, every event logged up to that checkpoint would count as projected
    and never be written: refused instead."""

    REMEDY = ("Point this catalog at a graph of its own, or run `catalog rebuild` to replace the graph's content "
              "with this log's")

    @classmethod
    def past_the_log(cls, in_graph: int, last: int) -> GraphOfAnotherLog:
        return cls(f"the graph's checkpoint ({in_graph}) is past the last event of this event log ({last}): the "
                   "graph holds another catalog's events (two catalogs on one graph?), or this catalog's event log "
                   f"was replaced. {cls.REMEDY}")

    @classmethod
    def of_catalog(cls, owner: str, mine: str) -> GraphOfAnotherLog:
        return cls(f"the graph was written from the event log of catalog {owner}, and this catalog is {mine}: two "
                   "catalogs on one graph, or this catalog's event log was replaced. "
                   f"{cls.REMEDY}")


class Projector:
    """Applies logged events to the graph and keeps the checkpoint."""

    def __init__(self, event_log: EventLog, store: GraphStore, chunk: int = 500,
                 governance: GovernanceLog | None = None, propagator: Propagator | None = None,
                 lease: Lease | None = None, retention: retention_rules.Retention | None = None,
                 retention_interval: float = 3600.0):
        self.log = event_log
        self.store = store
        self.governance = governance
        self.propagator = propagator
        self.chunk = chunk
        self.lease = lease or LocalLease()
        # Whether this process holds the lease, as of the last check. Without a lease given, nothing else
        # projects into this graph: it leads from the start.
        self.leading = lease is None and self.lease.try_acquire()
        self.applied = 0  # highest seq known to be in the graph
        self.refused = 0  # logged events the engine refused (see _apply_or_isolate)
        self.mismatch: str | None = None  # why the graph's checkpoint was refused, while it is (GraphOfAnotherLog)
        self.retention = retention or retention_rules.Retention()
        self.retention_interval = retention_interval  # seconds between retention passes while projecting
        self.last_retention: tuple[float, retention_rules.Pruned] | None = None  # (when, what) of the last pass
        self.retained = retention_rules.Pruned()  # everything this process removed, for /metrics
        self._next_retention = 0.0
        self._retaining = threading.Event()  # a pass is running
        self._lock = threading.Lock()

    def lead(self) -> bool:
        """Take the projector lease if it is free (or keep it); whether this process projects now.

        A replica that has just taken over starts from the graph's checkpoint, wherever the last
        holder left it.
        """
        with self._lock:
            was = self.leading
            self.leading = self.lease.try_acquire()
            if self.leading and not was:
                self.applied = self.store.checkpoint()
                log.info("this replica projects the event log into the graph now", extra={"checkpoint": self.applied})
            elif was and not self.leading:
                log.warning("projector lease lost; another replica projects (or will once the database is back)")
            return self.leading

    def tick(self, catch_up: bool = True) -> int:
        """One round of the projection loop: lead if possible, catch up (unless ``catch_up`` is false), and
        apply retention when it is due; the events applied."""
        if not self.lead():
            return 0
        applied = self.reconcile() if catch_up else 0
        if self.retention.enabled and time.monotonic() >= self._next_retention and not self._retaining.is_set():
            # In a thread of its own: a long first pass must not hold up projecting other replicas' events.
            self._next_retention = time.monotonic() + self.retention_interval
            self._retaining.set()
            threading.Thread(target=self._retain_in_background, name="retention", daemon=True).start()
        return applied

    def _retain_in_background(self) -> None:
        try:
            self.retain()
        except (GraphUnavailable, LogsUnavailable) as exc:
            log.warning("retention pass stopped: a store is unavailable; the next pass goes on",
                        extra={"error": str(exc)[:300]})
        except Exception:
            log.exception("retention pass failed; the next pass retries")
        finally:
            self._retaining.clear()

    def retain(self, progress: Callable[[int], None] | None = None) -> retention_rules.Pruned:
        """Apply the retention settings now (see catalog.retention)."""
        pruned = retention_rules.apply(self.store, self.log, self.retention, progress=progress, guard=self._lock)
        self.last_retention = (time.time(), pruned)
        self.retained.add(pruned)
        return pruned

    def prepare(self, events: list[tuple[int, GraphWrites]]) -> list[tuple[str, dict | None]]:
        """The store's statements for these events as one group, made ahead of ``apply`` (no lock: the
        engine is not involved)."""
        return self.store.prepare(_merged(events))

    def apply(self, events: list[tuple[int, GraphWrites]], statements: list | None = None) -> None:
        """Apply (seq, an event's writes) that directly follow the checkpoint; else catch up.

        ``statements``: what ``prepare`` made of exactly these events, used if they are all still to apply.
        """
        with self._lock:
            new = sorted(seq for seq, _ in events if seq > self.applied)
            if not new:
                return
            if new != list(range(self.applied + 1, self.applied + 1 + len(new))):
                self._catch_up_locked(None)
                return
            if len(new) < len(events):
                statements = None
            if not self._project([(seq, writes) for seq, writes in events if seq > self.applied], statements):
                self._resync_locked()

    def _project(self, events: list[tuple[int, GraphWrites]], statements: list | None = None) -> bool:
        """Write events (seq, writes) that follow the checkpoint, and move it to the last one, in one
        transaction where the engine has them; False if the graph held another checkpoint.

        If the store refuses the group (not merely unavailable), the events go one by one, each with
        its checkpoint, and one it refuses is skipped and logged: it never blocks the others.
        """
        seq = events[-1][0]
        try:
            if statements is None:
                statements = self.store.prepare(_merged(events))
            moved = self.store.write_and_checkpoint(statements, self.applied, seq)
        except GraphUnavailable:
            raise
        except Exception as exc:
            if len(events) > 1:
                return all(self._project([one]) for one in events)
            self.refused += 1
            log.error("the graph engine refused a logged event; skipped (it stays in the event log)",
                      extra={"seq": seq, "error": str(exc)[:500]})
            moved = self.store.advance_checkpoint(self.applied, seq)
        if moved:
            self.applied = seq
        return moved

    def catch_up(self, progress: Callable[[int], None] | None = None) -> int:
        """Apply everything logged after the checkpoint; returns the number of events applied. GraphOfAnotherLog if
        the graph is another catalog's."""
        with self._lock:
            self._graph_checkpoint()
            return self._catch_up_locked(progress)

    def _catch_up_locked(self, progress) -> int:
        snapshot = self.log.snapshot()
        behind_snapshot = self.applied < snapshot.seq
        if behind_snapshot:  # events this graph lacks were folded into the snapshot (retention): load it first
            log.info("loading the event log's snapshot", extra={"checkpoint": self.applied, "snapshot": snapshot.seq})
            retention_rules.load_snapshot(self.log, self.store, progress)
        applied = 0
        for batch in self.log.iterate(after=self.applied, chunk=self.chunk):
            self._apply_logged(batch)
            applied += len(batch)
            if progress:
                progress(len(batch))
        if behind_snapshot and self.applied < snapshot.seq:  # the newest events folded: nothing left to replay
            if not self.store.advance_checkpoint(self.applied, snapshot.seq):
                raise GraphUnavailable("the graph's checkpoint moved during replay (engine restarted?)")
            self.applied = snapshot.seq
        folded = snapshot.events if behind_snapshot else 0
        return applied + folded

    def _apply_logged(self, batch: list[LoggedEvent]) -> None:
        if not self._project([(item.seq, map_event(orjson.loads(item.body), item.digest)) for item in batch]):
            raise GraphUnavailable("the graph's checkpoint moved during replay (engine restarted?)")

    def reconcile(self) -> int:
        """Catch up, first rewinding to the graph's own checkpoint if the graph lost writes.

        An engine killed abruptly loses up to a second of writes (AOF fsync every second),
        the checkpoint among them; it then reads lower than what this process applied.
        """
        with self._lock:
            return self._resync_locked()

    def _resync_locked(self) -> int:
        """Catch up from the graph's own checkpoint; after a rewind, re-apply governance edits too."""
        in_graph = self._graph_checkpoint()
        rewound = in_graph != self.applied
        if rewound:
            log.warning("graph checkpoint differs from the last one applied; replaying from the graph's",
                        extra={"graph_checkpoint": in_graph, "applied": self.applied})
            self.store.ensure_schema()
            self.applied = in_graph
        applied = self._catch_up_locked(None)
        if rewound:
            self.replay_governance()
        return applied

    def _graph_checkpoint(self) -> int:
        """The graph's checkpoint, if the graph is this catalog's (else GraphOfAnotherLog). A graph no catalog
        claimed yet (new, cleared, or written before graphs were claimed) is claimed, unless its checkpoint is past
        this log's end. The checkpoint is read before the log's last seq: events logged meanwhile by other replicas
        only make that larger."""
        in_graph, owner = self.store.checkpoint_and_catalog()
        last = self.log.last_seq()
        mine = self.log.catalog_id
        refused = None
        if in_graph > last:
            refused = GraphOfAnotherLog.past_the_log(in_graph, last)
        elif owner != mine and (owner is not None or (owner := self.store.claim(mine)) != mine):
            refused = GraphOfAnotherLog.of_catalog(owner, mine)
        if refused:
            self.mismatch = str(refused)
            raise refused
        self.mismatch = None
        return in_graph

    def rebuild(self, progress: Callable[[int], None] | None = None) -> int:
        """Empty the graph and replay the whole log."""
        with self._lock:
            self.store.clear()
            self.store.claim(self.log.catalog_id)
            self.applied = 0
            self.mismatch = None  # the graph is this log's again
            replayed = self._catch_up_locked(progress)
            self.replay_governance()
        if self.retention.enabled:
            self.retain()
        return replayed

    def replay_governance(self) -> None:
        # Stewardship edits and classifications are not events: they are re-applied from their own log.
        if self.governance:
            changes.replay(self.store, self.governance, self.propagator)

    def lag(self) -> int:
        applied = self.applied if self.leading else self.store.checkpoint()
        return max(0, self.log.last_seq() - applied)


class IngestPipeline:
    """Group commit of submitted events: log first, then graph.

    Two stages run side by side: while the engine writes one group, the next is appended to the log
    and its statements are prepared (compacted and encoded). With ``acknowledge="graph"`` a group is
    acknowledged once it is in the log and in the graph, in the order it was logged, so a client
    reads what it has just posted. With ``acknowledge="log"`` it is acknowledged once durable in the
    log, and the graph stage takes every group logged meanwhile as one: groups stay large however
    the events arrive, and the graph trails the acknowledgements by at most ``max_unprojected``
    events (the log stage waits beyond that).
    """

    def __init__(self, event_log: EventLog, projector: Projector, max_batch: int = 2000,
                 on_commit: Callable[[list[PreparedEvent], list[Accepted]], None] | None = None,
                 on_caught_up: Callable[[int], None] | None = None, interval: float = 0.5,
                 acknowledge: str = "graph", max_unprojected: int = 10_000):
        if acknowledge not in ACKNOWLEDGE_MODES:
            raise ValueError(f"acknowledge must be one of {', '.join(ACKNOWLEDGE_MODES)}, not {acknowledge!r}")
        self.log = event_log
        self.projector = projector
        self.max_batch = max_batch
        self.on_commit = on_commit
        self.on_caught_up = on_caught_up  # events logged elsewhere (or while the graph was away) now projected
        self.interval = interval  # seconds between rounds of the projection loop
        self.when_logged = acknowledge == "log"
        self.max_unprojected = max_unprojected
        self.lagging = False
        self._queue: asyncio.Queue | None = None
        self._logged: asyncio.Queue | None = None  # groups in the log, waiting for the graph
        self._room: asyncio.Condition | None = None  # signalled as the graph stage takes groups off the log's hands
        self._unprojected = 0  # events logged and not yet through the graph stage
        self._tasks: list[asyncio.Task] = []
        self._in_flight = 0  # groups taken for the log and not yet through the graph stage

    async def start(self) -> None:
        self._queue = asyncio.Queue()
        # Acknowledged once in the graph: one group logged ahead of the one in the graph; the rest wait as requests
        # and join the next group, taken once the graph stage takes the one ahead (a group taken as soon as the log
        # stage is free would be smaller, and the engine's cost is as much per statement as per event).
        # Acknowledged once logged: the requests do not wait for the graph, so the logged groups queue (up to
        # max_unprojected events) and the graph stage merges them.
        self._logged = asyncio.Queue(maxsize=0 if self.when_logged else 1)
        self._room = asyncio.Condition()
        self._tasks = [asyncio.create_task(self._log_stage(), name="ingest-log"),
                       asyncio.create_task(self._merging_graph_stage() if self.when_logged else self._graph_stage(),
                                           name="ingest-graph"),
                       asyncio.create_task(self._retry_loop(), name="projection-retry")]

    async def drained(self, timeout: float) -> bool:
        """Wait until every event this pipeline logged has been through the graph stage; whether that happened
        within ``timeout`` seconds."""
        try:
            async with self._room:
                await asyncio.wait_for(self._room.wait_for(lambda: self._unprojected == 0), timeout)
            return True
        except TimeoutError:
            return False

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop; events acknowledged but not yet in the graph get up to ``drain_seconds`` to get there (else the
        next start catches up from the log)."""
        if self.when_logged and self._room is not None and not await self.drained(drain_seconds):
            log.warning("stopping with events not yet in the graph; the next start projects them from the log",
                        extra={"events": self._unprojected})
        for task in self._tasks:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def submit(self, events: list[PreparedEvent]) -> list[Accepted]:
        """Durably log ``events``; returns once logged, and projected too (unless the graph is away) when
        acknowledging once in the graph."""
        if not events:
            return []
        future = asyncio.get_running_loop().create_future()
        await self._queue.put((events, future))
        return await future

    async def _log_stage(self) -> None:
        while True:
            items = [await self._queue.get()]
            size = len(items[0][0])
            while not self._queue.empty() and size < self.max_batch:
                item = self._queue.get_nowait()
                items.append(item)
                size += len(item[0])
            events = [e for group, _ in items for e in group]
            if self.when_logged:
                async with self._room:
                    await self._room.wait_for(lambda: self._unprojected < self.max_unprojected)
            self._in_flight += 1
            try:
                logged = await asyncio.to_thread(self._log, events)
            except Exception as exc:  # the log itself failed: nothing was acknowledged
                self._in_flight -= 1
                log.exception("event log append failed")
                _fail(items, exc)
                continue
            self._unprojected += len(events)
            if self.when_logged:
                _acknowledge(items, logged.accepted)
            await self._logged.put((items, events, logged))
            if not self.when_logged:  # the next group gathers the requests arriving until the graph takes this one
                await self._logged.join()

    async def _graph_stage(self) -> None:
        while True:
            items, events, logged = await self._logged.get()
            self._logged.task_done()
            await self._through_graph(1, items, events, logged)

    async def _merging_graph_stage(self) -> None:
        """Acknowledged once logged: the groups logged meanwhile go to the graph as one, and the next such group is
        prepared while the engine writes the one before."""
        writing: asyncio.Task | None = None
        try:
            while True:
                taken = [await self._logged.get()]
                while not self._logged.empty() and sum(len(events) for _, events, _ in taken) < self.max_batch:
                    taken.append(self._logged.get_nowait())
                items, events, logged = await asyncio.to_thread(self._joined, taken)
                if writing:
                    await writing
                writing = asyncio.create_task(self._through_graph(len(taken), items, events, logged))
        finally:
            if writing:
                writing.cancel()

    async def _through_graph(self, groups: int, items: list, events: list[PreparedEvent], logged: _Logged) -> None:
        try:
            await asyncio.to_thread(self._project, events, logged)
        except Exception as exc:
            log.exception("projecting logged events failed; the projection loop retries them")
            _fail(items, exc)
            return
        finally:
            self._in_flight -= groups
            self._unprojected -= len(events)
            async with self._room:
                self._room.notify_all()
        _acknowledge(items, logged.accepted)

    def _log(self, events: list[PreparedEvent]) -> _Logged:
        """Append a group to the log; acknowledged once in the graph, also make its graph statements while the
        engine writes the group before."""
        rows = self.log.append([(e.digest, e.body, e.kind, e.time) for e in events])
        accepted = [Accepted(seq, new) for seq, new in rows]
        fresh = [(a.seq, e.writes) for a, e in zip(accepted, events) if a.new]
        return _Logged(accepted, fresh, None if self.when_logged else self._statements(fresh))

    def _joined(self, taken: list[tuple[list, list[PreparedEvent], _Logged]]) -> tuple[list, list, _Logged]:
        """Logged groups as one, with the statements of their new events."""
        fresh = [f for _, _, logged in taken for f in logged.fresh]
        return ([item for items, _, _ in taken for item in items], [e for _, events, _ in taken for e in events],
                _Logged([a for _, _, logged in taken for a in logged.accepted], fresh, self._statements(fresh)))

    def _statements(self, fresh: list[tuple[int, GraphWrites]]) -> list | None:
        if self.lagging or not self.projector.leading:
            return None
        try:
            return self.projector.prepare(fresh)
        except Exception:  # e.g. a key the store refuses: the graph stage goes event by event and skips it
            return None

    def _project(self, events: list[PreparedEvent], logged: _Logged) -> None:
        if not self.lagging and self.projector.leading:
            try:
                self.projector.apply(logged.fresh, logged.statements)
            except GraphUnavailable as exc:
                # Durable in the log already: acknowledge, and let the retry loop catch up.
                self.lagging = True
                log.warning("graph unavailable; events kept in the log for replay", extra={"error": str(exc)})
        if self.on_commit:
            self.on_commit(events, logged.accepted)

    async def _retry_loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                # While groups are on their way to the graph, catching up would replay them from the log (parsed
                # and mapped again) only for the graph stage to find them applied; that stage catches up anyway
                # when the log holds events it did not log (other replicas').
                busy = self._in_flight > 0 and not self.lagging
                caught = await asyncio.to_thread(self.projector.tick, not busy)
                self.lagging = False
                if caught:
                    log.debug("projection caught up", extra={"events": caught})
                    if self.on_caught_up:
                        self.on_caught_up(caught)
            except GraphOfAnotherLog as exc:
                if not self.lagging:
                    log.error("not projecting: %s", exc)
                self.lagging = True
            except (GraphUnavailable, LogsUnavailable):
                self.lagging = True
            except Exception:  # keep the loop alive: the next round retries
                log.exception("projection round failed")


@dataclass(frozen=True)
class _Logged:
    """A group in the log: each event's seq, the new ones' writes, and their statements if prepared."""
    accepted: list[Accepted]
    fresh: list[tuple[int, GraphWrites]]
    statements: list | None


def _merged(events: list[tuple[int, GraphWrites]]) -> GraphWrites:
    writes = GraphWrites()
    for _seq, event_writes in events:
        writes.extend(event_writes)
    return writes


def _acknowledge(items: list[tuple[list, asyncio.Future]], accepted: list[Accepted]) -> None:
    offset = 0
    for group, future in items:
        if not future.done():
            future.set_result(accepted[offset:offset + len(group)])
        offset += len(group)


def _fail(items: list[tuple[list, asyncio.Future]], exc: Exception) -> None:
    for _, future in items:
        if not future.done():
            future.set_exception(exc)
