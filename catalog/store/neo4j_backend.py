"""Neo4j 5 backend over Bolt with the official driver (production; scripts/neo4j.sh runs one locally).

Dialect notes: unique constraints, range and full-text indexes with ``IF NOT EXISTS``, and
the wait for them to come online; node ids for traversals through ``elementId()``; deleting
everything in batches (``CALL {} IN TRANSACTIONS``, which needs an auto-commit transaction).

Every write call runs in one transaction, retried on transient errors (deadlocks between
concurrent MERGEs on one key) for up to ``retry_seconds``; after that, or at once when the
server cannot be reached, GraphUnavailable. A projection commit (the writes of a group of
events and the checkpoint) is one transaction. Reads run each statement in an auto-commit
transaction, retried the same way: one round trip per statement instead of a BEGIN and a COMMIT
around them (Neo4j reads committed data per statement either way, so this loses no snapshot).
"""

from __future__ import annotations

import asyncio
import logging
import random
import re
import time

import neo4j
from neo4j.exceptions import DatabaseUnavailable, IncompleteCommit, ServiceUnavailable, SessionExpired, TransientError

from catalog.store.base import (
    CHECKPOINT_MOVE,
    INDEXED_PROPERTIES,
    KEYED_LABELS,
    SEARCH_INDEXED,
    GraphStore,
    GraphUnavailable,
    Read,
)
from catalog.store.writes import every_kind_plan
from ingestors.openlineage import GraphWrites

log = logging.getLogger("catalog.store.neo4j")

# The server is away, or went away during a commit (which may or may not have happened: the projector
# replays it, idempotently): the caller may retry later. Never "refused", which would skip an event.
_UNAVAILABLE = (ServiceUnavailable, SessionExpired, DatabaseUnavailable, IncompleteCommit, OSError)


# Commits are planned anew each time the event log doubles, from twice this size (see Neo4jStore.commit_query).
PLANNED_AFRESH_FROM = 2048


_UNWIND_ROWS = "UNWIND $rows AS r "  # how every write statement starts (catalog.store.writes)


def _bucket_floor(length: int) -> int:
    """The shortest list in the same plan-cache size bucket as a list of ``length`` (Neo4j's buckets: exactly 0,
    exactly 1, then up to the next power of ten), never below 2, so that padding never lands in the exact ones."""
    bound = 10
    while bound < length:
        bound *= 10
    return bound // 10 + 1


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_PARAMETER = re.compile(r"\$(\w+)")
_READS_KEPT = 1_000  # read texts whose columns are remembered (they come from the code, a few dozen in all)


def fused_read(reads: tuple[Read, ...], columns: list[tuple[str, ...]]) -> tuple[str, dict]:
    """Reads as one statement: read ``i`` in a subquery, its parameters renamed ``$q{i}_...`` and its rows collected
    into the list ``q{i}`` (rows of its ``columns``, in its order), the lists returned in one record. Each collect is
    a subquery of its own, which gives one row even when its read gives none."""
    parts, params = [], {}
    for index, (read, names) in enumerate(zip(reads, columns, strict=True)):
        text = _PARAMETER.sub(lambda m, index=index: f"$q{index}_{m.group(1)}", read.cypher)
        params.update({f"q{index}_{name}": value for name, value in read.params.items()})
        row = ", ".join(f"`{name}`" for name in names)
        parts.append(f"CALL () {{ CALL () {{ {text} }} RETURN collect([{row}]) AS q{index} }}")
    return " ".join(parts) + " RETURN " + ", ".join(f"q{index}" for index in range(len(reads))), params


def search_index(label: str, eventually_consistent: bool = True) -> str:
    """The statement that makes ``label``'s full-text index (the catalog's are eventually consistent: see
    Neo4jStore.text_search)."""
    props = ", ".join("n." + prop for prop in SEARCH_INDEXED[label])
    return (f"CREATE FULLTEXT INDEX {label.lower()}_search IF NOT EXISTS FOR (n:{label}) ON EACH [{props}] "
            "OPTIONS {indexConfig: {`fulltext.analyzer`: 'standard-no-stop-words', "
            f"`fulltext.eventually_consistent`: {str(eventually_consistent).lower()}}}}}")


class _CheckpointMoved(Exception):
    """Raised inside a commit to roll it back: the graph's checkpoint is not the expected one."""


class _Retries:
    """When to try a transaction again: after a transient error, with jittered backoff until ``seconds`` are spent;
    never when the server is away (GraphUnavailable at once)."""

    def __init__(self, store: Neo4jStore, seconds: float):
        self.store = store
        self.deadline = time.monotonic() + seconds
        self.delay = 0.02

    def pause_after(self, exc: Exception) -> float:
        """The pause before the next try after ``exc``; raises GraphUnavailable when there is none."""
        if isinstance(exc, _UNAVAILABLE):
            raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc
        if time.monotonic() + self.delay > self.deadline:
            raise GraphUnavailable(f"graph engine still failing after retries: {exc}") from exc
        self.store.retries += 1
        pause, self.delay = self.delay * random.uniform(0.5, 1.5), min(self.delay * 2, 1.0)
        return pause


class Neo4jStore(GraphStore):
    name = "neo4j"
    id_function = "elementId"  # id() is deprecated in Neo4j 5

    def __init__(self, url: str, user: str | None = "neo4j", password: str | None = None,
                 database: str | None = None, retry_seconds: float = 5.0, connect_timeout: float = 3.0):
        # No password: a server with authentication off (scripts/neo4j.sh on loopback) takes no credentials.
        auth = (user or "neo4j", password) if password else None
        self._driver_options = {"auth": auth, "connection_timeout": connect_timeout,
                                "connection_acquisition_timeout": connect_timeout, "notifications_min_severity": "OFF"}
        self._url = url
        self._driver = neo4j.GraphDatabase.driver(url, **self._driver_options)
        # The driver's asyncio flavour, for reads awaited on the event loop: made on a loop's first read (its
        # connections belong to that loop).
        self._async_driver: neo4j.AsyncDriver | None = None
        self._async_loop: asyncio.AbstractEventLoop | None = None
        self._database = database
        self._retry_seconds = retry_seconds
        self.retries = 0  # transactions retried after a transient error, since start
        self._columns: dict[str, tuple[str, ...] | None] = {}  # read text -> its columns, learnt on its first run

    def _session(self, read_only: bool = False):
        return self._driver.session(database=self._database,
                                    default_access_mode=neo4j.READ_ACCESS if read_only else neo4j.WRITE_ACCESS)

    def _transaction(self, work, read_only: bool = False):
        """``work(tx)`` in one transaction, retried with backoff on transient errors (deadlocks between
        concurrent MERGEs on one key) for up to retry_seconds. An unreachable server is not retried
        here: GraphUnavailable at once, so ingestion acknowledges from the log and catches up later.
        With ``read_only``, ``work`` gets the session instead: each statement its own auto-commit transaction."""
        retries = _Retries(self, self._retry_seconds)
        while True:
            try:
                with self._session(read_only) as session:
                    if read_only:
                        return work(session)
                    with session.begin_transaction() as tx:
                        result = work(tx)
                        tx.commit()
                        return result
            except (*_UNAVAILABLE, TransientError) as exc:
                time.sleep(retries.pause_after(exc))

    def query(self, cypher: str, params: dict | None = None, read_only: bool = False) -> list[dict]:
        return self._transaction(lambda tx: [record.data() for record in tx.run(cypher, params or {})], read_only)

    def rows(self, cypher: str, params: dict | None = None) -> list[tuple]:
        return self._transaction(lambda tx: [tuple(record.values()) for record in tx.run(cypher, params or {})],
                                 read_only=True)

    def read(self, *reads: Read) -> list:
        """Several reads on one session: one statement (see :meth:`_fused`), else one auto-commit transaction and
        one round trip each. An explicit read transaction around them gave no snapshot (Neo4j reads committed data
        per statement) and cost a BEGIN and a COMMIT: 1.3-1.5x the client CPU of a lineage page
        (docs/benchmarks.md)."""
        def work(session):
            fused = self._fused(reads)
            if fused:
                [record] = list(session.run(*fused))
                return self._unfused(reads, record.values())
            results = []
            for r in reads:
                result = session.run(r.cypher, r.params)
                results.append(r.shape([tuple(record.values()) for record in result]))
                self._learn(r.cypher, result.keys())
            return results

        return self._transaction(work, read_only=True)

    async def aread(self, *reads: Read) -> list:
        """:meth:`read` on the event loop, through the driver's asyncio API (1.4-1.75x the reads per second of the
        blocking driver on pool threads: docs/benchmarks.md)."""
        retries = _Retries(self, self._retry_seconds)
        while True:
            try:
                async with self._loop_driver().session(database=self._database,
                                                       default_access_mode=neo4j.READ_ACCESS) as session:
                    fused = self._fused(reads)
                    if fused:
                        [record] = [record async for record in await session.run(*fused)]
                        return self._unfused(reads, record.values())
                    results = []
                    for r in reads:
                        result = await session.run(r.cypher, r.params)
                        results.append(r.shape([tuple(record.values()) async for record in result]))
                        self._learn(r.cypher, result.keys())
                    return results
            except (*_UNAVAILABLE, TransientError) as exc:
                await asyncio.sleep(retries.pause_after(exc))

    def _fused(self, reads: tuple[Read, ...]) -> tuple[str, dict] | None:
        """Reads of one round trip as one statement, when there are several and each has run before with named
        columns: every statement costs the driver's Python a round of messages (about 0.4 ms of client CPU)."""
        if len(reads) < 2:
            return None
        columns = [self._columns.get(r.cypher) for r in reads]
        return None if None in columns else fused_read(reads, columns)

    @staticmethod
    def _unfused(reads: tuple[Read, ...], collected: list) -> list:
        return [r.shape([tuple(row) for row in rows]) for r, rows in zip(reads, collected, strict=True)]

    def _learn(self, cypher: str, columns: tuple[str, ...]) -> None:
        """Remember a read's columns (None when one is an expression: a subquery must name what it returns)."""
        if cypher not in self._columns and len(self._columns) < _READS_KEPT:
            self._columns[cypher] = columns if all(_NAME.fullmatch(c) for c in columns) else None

    def _loop_driver(self) -> neo4j.AsyncDriver:
        loop = asyncio.get_running_loop()
        if loop is not self._async_loop:  # a driver of another loop cannot serve this one (aclose it there)
            self._async_driver = neo4j.AsyncGraphDatabase.driver(self._url, **self._driver_options)
            self._async_loop = loop
        return self._async_driver

    async def aclose(self) -> None:
        if self._async_driver is not None and self._async_loop is asyncio.get_running_loop():
            driver, self._async_driver, self._async_loop = self._async_driver, None, None
            await driver.close()

    def execute_writes(self, statements: list[tuple[str, dict]]) -> None:
        """All statements in one transaction: they are applied together or not at all."""
        def work(tx):
            for cypher, params in statements:
                tx.run(cypher, params).consume()

        self._transaction(work)

    def write_and_checkpoint(self, statements: list[tuple[str, dict]], expected: int, seq: int) -> bool:
        """The writes and the checkpoint's move in one transaction, rolled back whole if the checkpoint moved."""
        combined, params = self.commit_query(statements, expected, seq)

        def work(tx):
            if not tx.run(combined, params).peek():
                raise _CheckpointMoved

        try:
            self._transaction(work)
        except _CheckpointMoved:
            return False
        return True

    @staticmethod
    def prepare(writes: GraphWrites) -> list[tuple[str, dict]]:
        """Every write kind's statement, empty or not, for one commit text whatever the write (see commit_query)."""
        return Neo4jStore._statements(writes, plan=every_kind_plan)

    @staticmethod
    def commit_query(statements: list[tuple[str, dict]], expected: int, seq: int,
                     pad_lists: bool = True) -> tuple[str, dict]:
        """A projection commit as one query: each statement a unit subquery with its own rows, in order, then the
        checkpoint's compare-and-set. One round trip instead of one per statement (a single post's commit went
        from 27 to 5 ms).

        Planning this query takes 0.2-1 s, so it is planned as rarely as the graph allows:

        * Neo4j replans a cached query whenever the statistics of the labels it touches have moved, which a
          growing graph does every few seconds: 600 small commits took 2.5-5x as long in all
          (benchmarks/neo4j_commits.py). So the query says ``replan=skip``, and names its plan generation in a
          comment instead, which makes it a new text, planned afresh, each time the log doubles from 4,096 events
          on: plans follow the graph's growth at a handful of plannings in its life.
        * Neo4j also keys a cached plan by each list parameter's size bucket (0, 1, up to 10, up to 100, ...: the
          next power of ten). Every list is padded with nulls, which each statement skips, into the bucket of the
          longest (``pad_lists``), and ``prepare`` sends every kind's statement, empty or not. So a generation
          has one plan per bucket of the longest list, not one per set of kinds and sizes that small commits
          happen to make.
        """
        parts, params = [], {"expected": expected, "seq": seq}
        floor = _bucket_floor(max((len(p["rows"]) for _, p in statements), default=0)) if pad_lists else 0
        for index, (cypher, statement_params) in enumerate(statements):
            if not cypher.startswith(_UNWIND_ROWS):
                raise ValueError(f"a commit statement must start with {_UNWIND_ROWS!r}: {cypher[:60]!r}")
            rows = statement_params["rows"]
            parts.append(f"CALL () {{ UNWIND $rows{index} AS r WITH r WHERE r IS NOT NULL "
                         f"{cypher[len(_UNWIND_ROWS):]} }}")
            params[f"rows{index}"] = rows + [None] * (floor - len(rows)) if len(rows) < floor else rows
        generation = max(seq, PLANNED_AFRESH_FROM).bit_length()
        return (f"CYPHER replan=skip /* plan {generation} */ " + " ".join(parts)
                + (" WITH 1 AS written " if parts else " ") + CHECKPOINT_MOVE, params)

    def ensure_schema(self) -> None:
        for label in KEYED_LABELS:
            self.query(f"CREATE CONSTRAINT {label.lower()}_key IF NOT EXISTS FOR (n:{label}) REQUIRE n.key IS UNIQUE")
        for label, prop in INDEXED_PROPERTIES:
            self.query(f"CREATE INDEX {label.lower()}_{prop} IF NOT EXISTS FOR (n:{label}) ON (n.{prop})")
        synchronous = self._synchronous_search_indexes()
        for label in SEARCH_INDEXED:
            name = f"{label.lower()}_search"
            if name in synchronous:  # made by an older version: made again, once
                log.warning("rebuilding a full-text index as eventually consistent (once; searches wait for it)",
                            extra={"index": name})
                self.query(f"DROP INDEX {name} IF EXISTS")  # another replica starting may have dropped it
            self.query(search_index(label))
        # A new index populates in the background: queries must not see it half built.
        self._auto_commit("CALL db.awaitIndexes(300)")

    def _synchronous_search_indexes(self) -> set[str]:
        """The catalog's full-text indexes that a commit updates itself (not eventually consistent)."""
        rows = self.query("SHOW FULLTEXT INDEXES YIELD name, options "
                          "RETURN name, options.indexConfig.`fulltext.eventually_consistent` AS eventual",
                          read_only=True)
        ours = {f"{label.lower()}_search" for label in SEARCH_INDEXED}
        return {row["name"] for row in rows if row["name"] in ours and row["eventual"] is not True}

    def text_search(self, label: str, words: list[str], limit: int) -> list[dict]:
        # Words are letters and digits only (writes.search_words): nothing reaches Lucene's query syntax.
        # One-letter words match whole words, as on FalkorDB (whose index needs two letters for a prefix).
        # The full-text indexes are eventually consistent: a commit only queues its changes for them, which took
        # 4-5 ms off each commit per index it touched (docs/benchmarks.md). A search first waits until the changes
        # of every commit before it are in (under 1 ms when none are pending), so it still finds what was written.
        text = " AND ".join(word + "*" if len(word) > 1 else word for word in words)
        return self.query(
            "CALL db.index.fulltext.awaitEventuallyConsistentIndexRefresh() "
            "CALL db.index.fulltext.queryNodes($index, $text) YIELD node "
            "RETURN node.key AS key, node.name AS name, node.namespace AS namespace, node.dataset AS dataset, "
            "node.description AS description LIMIT $limit",
            {"index": f"{label.lower()}_search", "text": text, "limit": limit},
            read_only=True)

    def clear(self) -> None:
        self._auto_commit("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS")

    def _auto_commit(self, cypher: str) -> None:
        # Procedures and batched deletes that refuse to run inside an explicit transaction.
        try:
            with self._session() as session:
                session.run(cypher).consume()
        except _UNAVAILABLE as exc:
            raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc

    def ping(self) -> bool:
        try:
            self._driver.verify_connectivity()
            return True
        except Exception:
            return False

    def version(self) -> str:
        rows = self.query("CALL dbms.components() YIELD name, versions, edition "
                          "RETURN name, versions[0] AS version, edition", read_only=True)
        return " ".join(f"{r['name']} {r['version']} ({r['edition']})" for r in rows)

    def close(self) -> None:
        self._driver.close()
