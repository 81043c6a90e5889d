"""The event loop's FalkorDB connections: a real engine, a real silent socket for time limits."""

import asyncio
import time
import uuid

import pytest
from redis.exceptions import ResponseError

from catalog.engine import EmbeddedEngine
from catalog.store.base import GraphUnavailable, Read
from catalog.store.falkor_backend import FalkorStore
from catalog.store.resp_async import RespPool
from tests.catalog.store.test_store_contract import run_event, writes_for
from tests.conftest import free_port


def test_replies_come_back_in_order_with_errors_in_their_place(engine):
    async def exchange():
        pool = RespPool("127.0.0.1", engine.port, timeout=10)
        replies = await pool.roundtrip([("SET", key, "v"), ("GET", key), ("NO.SUCH.COMMAND",), ("DEL", key)])
        again = await pool.roundtrip([("GET", key)])  # the connection stays usable after an error reply
        pool.clear()
        return replies, again
    key = f"test-resp-{uuid.uuid4().hex}"
    (stored, read, failed, deleted), again = asyncio.run(exchange())
    assert (stored, read, deleted, again) == ("OK", "v", 1, [None])
    assert isinstance(failed, ResponseError) and "unknown command" in str(failed).lower()


def test_concurrent_round_trips_each_get_their_own_replies(falkor_store):
    falkor_store.apply(writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", [f"in{i}"],
                                             [f"out{i}"]) for i in range(30)]))

    def lookup(i: int) -> Read:
        return falkor_store.lookup("Dataset", [f"dataset:ns:in{i}", f"dataset:ns:out{i}"])

    async def all_at_once():
        return await asyncio.gather(*(falkor_store.aread(lookup(i), lookup((i + 1) % 30)) for i in range(30)))
    expected = [falkor_store.read(lookup(i), lookup((i + 1) % 30)) for i in range(30)]
    assert asyncio.run(all_at_once()) == expected
    assert all(len(found) == 2 for pair in expected for found in pair)


def test_a_failing_statement_raises_what_it_raises_on_a_thread(falkor_store):
    bad = Read("MATCH (n) RETURN n.key +", {})
    with pytest.raises(ResponseError) as on_thread:
        falkor_store.read(bad)

    async def twice():
        with pytest.raises(ResponseError) as awaited:
            await falkor_store.aread(falkor_store.lookup("Dataset", ["x"]), bad)
        return awaited, await falkor_store.aread(falkor_store.lookup("Dataset", ["x"]))
    awaited, after = asyncio.run(twice())
    assert type(awaited.value) is type(on_thread.value) and after == [{}]


def test_connections_the_engine_closed_are_replaced(tmp_path):
    with EmbeddedEngine(tmp_path / "engine") as engine:
        store = FalkorStore("127.0.0.1", engine.port, graph="restarts")
        store.ensure_schema()
        store.apply(writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["b"])]))
        lookup = store.lookup("Dataset", ["dataset:ns:a"])

        async def across_a_restart():
            before = await asyncio.gather(*(store.aread(lookup) for _ in range(4)))  # four pooled connections
            engine.kill()
            deadline = time.monotonic() + 30
            while engine.restarts == 0 or not store.ping():
                assert time.monotonic() < deadline, "the engine did not come back"
                await asyncio.sleep(0.1)
            return before, await store.aread(lookup)
        before, after = asyncio.run(across_a_restart())
        store.close()
    assert len(after[0]) == 1 and all(found == before[0] for found in before)


def test_nothing_listening_is_graph_unavailable():
    async def read():
        return await RespPool("127.0.0.1", free_port(), timeout=5).roundtrip([("PING",)])
    with pytest.raises(GraphUnavailable):
        asyncio.run(read())


def test_an_engine_that_does_not_answer_is_graph_unavailable_and_its_connection_dropped():
    async def silent_engine():
        heard: list[bytes] = []

        async def swallow(reader, writer):
            heard.append(await reader.read(1000))
            await asyncio.sleep(30)
        server = await asyncio.start_server(swallow, "127.0.0.1", 0)
        pool = RespPool("127.0.0.1", server.sockets[0].getsockname()[1], timeout=0.3)
        started = time.monotonic()
        with pytest.raises(GraphUnavailable, match="no reply within"):
            await pool.roundtrip([("PING",)])
        took = time.monotonic() - started
        idle = len(pool._idle)
        server.close()
        return heard, took, idle
    heard, took, idle = asyncio.run(silent_engine())
    assert heard == [b"*1\r\n$4\r\nPING\r\n"] and 0.3 <= took < 5 and idle == 0


def test_a_cancelled_round_trip_does_not_leave_its_reply_to_the_next(engine):
    async def cancel_then_read():
        pool = RespPool("127.0.0.1", engine.port, timeout=10)
        blocked = asyncio.create_task(pool.roundtrip([("BLPOP", f"test-{uuid.uuid4().hex}", "5")]))
        await asyncio.sleep(0.2)
        blocked.cancel()
        with pytest.raises(asyncio.CancelledError):
            await blocked
        replies = await pool.roundtrip([("ECHO", "mine")])
        pool.clear()
        return replies
    assert asyncio.run(cancel_then_read()) == ["mine"]


def test_an_engine_still_loading_its_data_is_graph_unavailable():
    """What a restarted FalkorDB answers until its data is read back (seen in the recovery test): not a 500."""
    async def loading_engine():
        async def answer(reader, writer):
            while await reader.read(1000):
                writer.write(b"-LOADING Redis is loading the dataset in memory\r\n")
        server = await asyncio.start_server(answer, "127.0.0.1", 0)
        pool = RespPool("127.0.0.1", server.sockets[0].getsockname()[1], timeout=5)
        with pytest.raises(GraphUnavailable, match="LOADING"):
            await pool.roundtrip([("PING",)])
        kept = len(pool._idle)
        pool.clear()
        server.close()
        return kept
    assert asyncio.run(loading_engine()) == 1  # the connection itself is fine


def test_a_transaction_answers_as_the_commands_would_alone(engine):
    async def exchange():
        pool = RespPool("127.0.0.1", engine.port, timeout=10)
        commands = [("SET", key, "v"), ("GET", key), ("INCR", key), ("DEL", key)]
        replies = await pool.roundtrip(commands, transaction=True)
        refused = await pool.roundtrip([("SET", key, "w"), ("GET",)], transaction=True)  # GET without its key
        after = await pool.roundtrip([("GET", key)], transaction=True)
        pool.clear()
        return replies, refused, after
    key = f"test-resp-{uuid.uuid4().hex}"
    (stored, read, failed, deleted), refused, after = asyncio.run(exchange())
    assert (stored, read, deleted) == ("OK", "v", 1)
    assert isinstance(failed, ResponseError) and "not an integer" in str(failed)  # in its place, the rest ran
    assert all(isinstance(reply, ResponseError) for reply in refused) and "arguments" in str(refused[1])
    assert "EXECABORT" in str(refused[0])
    assert after == [None]  # a refused transaction runs none of its commands
