"""FalkorDB backend over the Redis protocol (never its Bolt port: see docs/architecture.md).

Dialect notes (FalkorDB 4.x): indexes via ``CREATE INDEX FOR (n:L) ON (n.p)``, which fails
when the index exists; unique constraints via the GRAPH.CONSTRAINT command.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import redis
from falkordb import FalkorDB
from falkordb.helpers import stringify_param_value
from falkordb.query_result import parse_scalar
from redis.exceptions import ResponseError

from catalog.flock import ProcessLock
from catalog.store.base import INDEXED_PROPERTIES, KEYED_LABELS, SEARCH_INDEXED, GraphStore, GraphUnavailable, Read
from catalog.store.resp_async import RespPool, transaction_replies
from catalog.store.writes import UNDO_BARE, created_first
from ingestors.openlineage import GraphWrites


def _params_header(params: dict | None) -> str:
    """The ``CYPHER name=value ...`` prefix that carries parameters (names are the code's own)."""
    if not params:
        return ""
    return "CYPHER " + "".join(f"`{name}`={_param(value)} " for name, value in params.items())


def _param(value) -> str:
    """One parameter value as a Cypher literal, as the client's ``stringify_param_value`` writes it.

    Written here because every ingested row and every finding of an audit goes through it: dispatch on
    the exact type, strings first (most values), and each map key's backticked form computed once.
    """
    kind = type(value)
    if kind is str:
        if '"' in value or "\\" in value:
            value = value.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + value + '"'
    if kind is dict:
        return "{" + ",".join([(_KEYS.get(k) or _key(k)) + _param(v) for k, v in value.items()]) + "}"
    if kind is list:
        if all(type(v) is int for v in value):  # engine ids, as traversals send them
            return "[" + ",".join(map(str, value)) + "]"
        return "[" + ",".join([_param(v) for v in value]) + "]"
    if value is None:
        return "null"
    if kind is int:
        return str(value)
    return stringify_param_value(value)  # floats, booleans, tuples, subclasses: the client's rules


_KEYS: dict[str, str] = {}  # map key -> its backticked form with the colon
_KEYS_KEPT = 10_000  # facet names come from events: the cache stops growing there


def _key(name) -> str:
    if type(name) is not str or not name or "`" in name:
        stringify_param_value({name: None})  # raises the client's error for keys the engine cannot take
    encoded = f"`{name}`:"
    if len(_KEYS) < _KEYS_KEPT:
        _KEYS[name] = encoded
    return encoded


# Value types of FalkorDB's compact result format.
_NULL, _STRING, _INTEGER, _BOOLEAN, _DOUBLE, _ARRAY, _MAP = 1, 2, 3, 4, 5, 6, 10


# A small round trip runs on the engine's main thread: FalkorDB runs the statements of a MULTI/EXEC there, one after
# the other, instead of handing each to a query thread and its reply back (the hand-offs were a third of the
# engine's CPU on a lineage page: docs/benchmarks.md). The main thread serves every other client meanwhile, so only
# reads over at most this many ids go that way (counted in all their list parameters: a Read is keyed by them, the
# ids a traversal reached or the keys a DataLoader collected), and writes of at most this much text (a group of
# about 30 events); larger ones stay on the query threads.
SMALL_READ_ITEMS = 64
SMALL_WRITE_CHARS = 256 * 1024


def _small(reads: tuple[Read, ...]) -> bool:
    return sum(len(v) for r in reads for v in r.params.values() if type(v) is list) <= SMALL_READ_ITEMS


def _small_writes(texts: list[str]) -> bool:
    """Whether statements go as one transaction (execute_writes), and so may create their nodes first (prepare)."""
    return sum(map(len, texts)) <= SMALL_WRITE_CHARS


def _failed(reply) -> bool:
    # FalkorDB reports query errors inside a successful reply.
    return isinstance(reply, Exception) or (isinstance(reply, list) and bool(reply)
                                            and isinstance(reply[-1], ResponseError))


def _bare_undone(texts: list[str]) -> list[str]:
    """For each bare MERGE among ``texts`` (prepare's, with its rows in the CYPHER header), the statement that deletes
    those of its nodes still bare after their group failed (writes.UNDO_BARE)."""
    return [text.removesuffix(query) + undo for text in texts for query, undo in UNDO_BARE.items()
            if text.endswith(query)]


def _texts(statements) -> list[str]:
    """(cypher, params) pairs as the texts sent: parameters in a CYPHER header."""
    return [_params_header(params) + cypher for cypher, params in statements]


# One lock per graph for the writers of this process. FalkorDB runs each query atomically but not a MERGE
# racing another connection's: two at once can both create the same edge (seen in 2 of 8 runs of
# test_concurrent_writers_of_the_same_keys_all_succeed). It runs writes one at a time anyway. The processes
# of one server (--workers) share a file lock instead (catalog.flock.ProcessLock).
_WRITE_LOCKS: dict[tuple, threading.RLock | ProcessLock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


CLEAR_BATCH = 50_000  # nodes deleted per statement by clear()


class FalkorStore(GraphStore):
    name = "falkordb"

    def __init__(self, host: str, port: int, graph: str = "catalog", timeout: float = 30.0,
                 write_lock_file: Path | None = None):
        """``write_lock_file``: writers of every process that names the same file take turns."""
        self._db = FalkorDB(host=host, port=port, socket_timeout=timeout, socket_connect_timeout=2)
        self._graph = self._db.select_graph(graph)
        self._async_connections = RespPool(host, port, timeout)
        with _WRITE_LOCKS_GUARD:
            key = (host, port, graph, write_lock_file)
            if key not in _WRITE_LOCKS:
                _WRITE_LOCKS[key] = ProcessLock(write_lock_file) if write_lock_file else threading.RLock()
            self._write_lock = _WRITE_LOCKS[key]

    def query(self, cypher: str, params: dict | None = None, read_only: bool = False) -> list[dict]:
        if read_only:
            reply = self._run("GRAPH.RO_QUERY", cypher, params)
        else:
            with self._write_lock:
                reply = self._run("GRAPH.QUERY", cypher, params)
        names = [column[1] for column in reply[0]] if len(reply) > 1 else []
        return [dict(zip(names, row)) for row in self._tuples(reply)]

    def rows(self, cypher: str, params: dict | None = None) -> list[tuple]:
        return self._tuples(self._run("GRAPH.RO_QUERY", cypher, params))

    def _run(self, command: str, cypher: str, params: dict | None) -> list:
        return self._checked(self._roundtrip(command, [_params_header(params) + cypher]))[0]

    def _roundtrip(self, command: str, texts: list[str], transaction: bool = False) -> list:
        """The statements' replies (or the errors they came back as), sent in one round trip on one connection;
        with ``transaction``, between MULTI and EXEC.

        On a connection of redis's pool, without its client's pipeline and per-command machinery (twice the
        CPU of a small read). A connection the engine closed (it restarted) is replaced once; statements are
        reads or idempotent writes, so sending them again is safe."""
        pool = self._db.connection.connection_pool
        packed = self._commands(command, texts)
        if transaction:
            packed = [("MULTI",), *packed, ("EXEC",)]
        for attempt in (1, 2):
            try:
                connection = pool.get_connection()
            except (redis.ConnectionError, redis.TimeoutError) as exc:  # nothing listens: no second try
                raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc
            try:
                connection.send_packed_command(connection.pack_commands(packed))
                replies = []
                for _ in packed:
                    try:
                        replies.append(connection.read_response())
                    except ResponseError as exc:  # the connection stays usable: read on
                        replies.append(exc)
                return transaction_replies(replies) if transaction else replies
            except (redis.TimeoutError, redis.BusyLoadingError) as exc:
                connection.disconnect()
                raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc
            except redis.ConnectionError as exc:
                connection.disconnect()
                if attempt == 2:
                    raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc
            finally:
                pool.release(connection)
        raise AssertionError("unreachable")

    @staticmethod
    def _checked(replies: list) -> list:
        for reply in replies:
            if _failed(reply):
                raise reply if isinstance(reply, Exception) else reply[-1]
        return replies

    def _tuples(self, reply: list) -> list[tuple]:
        if len(reply) == 1:  # statistics only
            return []
        value = self._value
        # Nulls, strings and integers come as they are (most cells of a traversal): no call for them.
        return [tuple([c[1] if _NULL <= c[0] <= _INTEGER else value(c) for c in row]) for row in reply[1]]

    def _value(self, cell: list):
        """One compact-format cell. Scalars, lists and maps inline: the client's generic parser
        costs several times more per cell, which large lineage and audit reads pay thousands of times."""
        kind, value = cell
        if kind in (_STRING, _INTEGER):
            return value
        if kind == _NULL:
            return None
        if kind == _ARRAY:
            return [self._value(c) for c in value]
        if kind == _MAP:
            return {value[i]: self._value(value[i + 1]) for i in range(0, len(value), 2)}
        if kind == _BOOLEAN:
            return value == "true"
        if kind == _DOUBLE:
            return float(value)
        return parse_scalar(cell, self._graph)  # nodes, edges, paths, points, temporal values

    def execute_writes(self, statements: list[tuple[str, dict | None]]) -> None:
        """All statements pipelined in one round trip; redis runs them in order on one connection
        (parameters None: already in the text, see prepare). A small group goes as one MULTI/EXEC.

        Either way a failure part-way leaves the other statements applied (Redis does not roll a transaction back),
        which is fine because every write is idempotent and the checkpoint moves only afterwards; only nodes created
        bare whose own statement failed are removed again (writes.UNDO_BARE).
        """
        texts = _texts(statements)
        with self._write_lock:
            replies = self._roundtrip("GRAPH.QUERY", texts, transaction=_small_writes(texts))
            failed = [_failed(reply) for reply in replies]
            if any(failed):
                undo = _bare_undone([text for text, failed_here in zip(texts, failed) if not failed_here])
                if undo:
                    self._checked(self._roundtrip("GRAPH.QUERY", undo, transaction=True))
            self._checked(replies)

    def prepare(self, writes: GraphWrites) -> list[tuple[str, None]]:
        """Parameters travel as text in a CYPHER header anyway: written into each statement here. A group that goes
        as one transaction creates its nodes first (writes.created_first)."""
        statements = self._statements(writes)
        texts = _texts(statements)
        if _small_writes(texts):
            with_bare = _texts(created_first(statements)) + texts
            if _small_writes(with_bare):  # still one transaction
                texts = with_bare
        return [(text, None) for text in texts]

    def read(self, *reads: Read) -> list:
        texts = _texts((r.cypher, r.params) for r in reads)
        replies = self._roundtrip("GRAPH.RO_QUERY", texts, transaction=_small(reads))
        return self._shaped(reads, self._checked(replies))

    async def aread(self, *reads: Read) -> list:
        texts = _texts((r.cypher, r.params) for r in reads)
        replies = await self._async_connections.roundtrip(self._commands("GRAPH.RO_QUERY", texts),
                                                          transaction=_small(reads))
        return self._shaped(reads, self._checked(replies))

    def _commands(self, command: str, texts: list[str]) -> list[tuple[str, ...]]:
        return [(command, self._graph.name, text, "--compact") for text in texts]

    def _shaped(self, reads: tuple[Read, ...], replies: list) -> list:
        return [r.shape(self._tuples(reply)) for r, reply in zip(reads, replies)]

    async def aclose(self) -> None:
        self._async_connections.close()

    def ensure_schema(self) -> None:
        for label in KEYED_LABELS:
            try:
                self._graph.create_node_unique_constraint(label, "key")
            except ResponseError as exc:
                if "already" not in str(exc).lower():
                    raise
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise GraphUnavailable(str(exc)) from exc
        for label, prop in INDEXED_PROPERTIES:
            try:
                self._graph.create_node_range_index(label, prop)
            except ResponseError as exc:
                if "already" not in str(exc).lower():
                    raise
        for label, props in SEARCH_INDEXED.items():
            # No stemming and no stop words: a prefix query must find "orders" as typed, and "of" too.
            fields = ", ".join(f"{{field: '{prop}', nostem: true}}" for prop in props)
            try:
                self.query(f"CALL db.idx.fulltext.createNodeIndex({{label: '{label}', stopwords: []}}, {fields})")
            except ResponseError as exc:
                if "already indexed" not in str(exc).lower():
                    raise
        self._wait_for_indexes()

    def _wait_for_indexes(self, timeout: float = 60.0) -> None:
        # FalkorDB builds an index in the background; until it is operational, lookups and searches through it
        # miss nodes (a search right after a start found nothing under load).
        deadline = time.monotonic() + timeout
        while any(self.rows(f"CALL db.{kind}() YIELD status WHERE status <> 'OPERATIONAL' RETURN count(*)")[0][0]
                  for kind in ("indexes", "constraints")):
            if time.monotonic() > deadline:
                raise GraphUnavailable(f"the graph engine's indexes were not built within {timeout:.0f} s")
            time.sleep(0.01)

    def text_search(self, label: str, words: list[str], limit: int) -> list[dict]:
        # Words are letters and digits only (writes.search_words), so nothing reaches RediSearch's
        # query syntax; one-letter words match whole words (RediSearch needs 2 for a prefix).
        text = " ".join(word + "*" if len(word) > 1 else word for word in words)
        return self.query(
            "CALL db.idx.fulltext.queryNodes($label, $text) YIELD node "
            "RETURN node.key AS key, node.name AS name, node.namespace AS namespace, node.dataset AS dataset, "
            "node.description AS description LIMIT $limit",
            {"label": label, "text": text, "limit": limit}, read_only=True)

    def drop(self) -> None:
        """Delete the graph itself, indexes and all (tests: a graph no one writes again)."""
        try:
            self._graph.delete()
        except ResponseError as exc:
            if "empty key" not in str(exc).lower() and "invalid graph" not in str(exc).lower():
                raise

    def clear(self) -> None:
        # Node by node, not GRAPH.DELETE: deleting a graph and at once writing a new one under the same name
        # crashed the engine now and then (in RediSearch's IndexSpec_GetField, freeing the old graph's indexes).
        while self.query(f"MATCH (n) WITH n LIMIT {CLEAR_BATCH} DETACH DELETE n RETURN count(n) AS n")[0]["n"]:
            pass
        self.ensure_schema()

    def ping(self) -> bool:
        try:
            return bool(self._db.connection.ping())
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError):
            return False

    def version(self) -> str:
        try:
            modules = self._db.connection.execute_command("MODULE", "LIST")
        except (redis.ConnectionError, redis.TimeoutError, redis.BusyLoadingError) as exc:
            raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc
        # Each module is a flat [name, value, ...] list; the version is one integer: 41603 is 4.16.3.
        number = next(int(fields["ver"]) for fields in (dict(zip(m[::2], m[1::2])) for m in modules)
                      if fields["name"] == "graph")
        return f"FalkorDB {number // 10000}.{number // 100 % 100}.{number % 100}"

    def close(self) -> None:
        self._db.connection.close()
        self._async_connections.close()
