"""Commands to a Redis-protocol server (FalkorDB) from the event loop, on a pool of asyncio connections.

Read requests await the engine here instead of on a pool thread: no thread hop per round trip and no second
thread contending for the GIL while the engine works (see docs/benchmarks.md, "An engine client on the event
loop"). Replies are parsed by hiredis, as redis-py does; an error reply comes back as a ResponseError instance
in its place, not raised, so that one failed statement of a round trip does not hide the others' replies.
"""

from __future__ import annotations

import asyncio

import hiredis
from redis.exceptions import ResponseError

from catalog.store.base import GraphUnavailable


# Error replies of a server that cannot answer now (restarted and reading its data back, or full), which redis-py
# raises as connection errors on the sync path: unavailable, not a failed statement.
_UNAVAILABLE_REPLIES = ("LOADING", "ERR max number of clients reached")


class _Connection(asyncio.Protocol):
    """One connection; one exchange (several commands sent, their replies awaited) at a time."""

    def __init__(self) -> None:
        self.parser = hiredis.Reader(replyError=ResponseError, encoding="utf-8")
        self.transport: asyncio.Transport | None = None
        self.waiter: asyncio.Future | None = None
        self.replies: list = []
        self.expected = 0
        self.closed = False

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.parser.feed(data)
        try:
            while len(self.replies) < self.expected:
                reply = self.parser.gets()
                if reply is False:  # incomplete: wait for more bytes
                    return
                self.replies.append(reply)
        except hiredis.ProtocolError as exc:
            self._fail(ConnectionError(f"malformed reply from the graph engine: {exc}"))
            return
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_result(self.replies)

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(ConnectionError(f"the graph engine closed the connection: {exc or 'end of stream'}"))

    def _fail(self, exc: Exception) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(exc)

    async def exchange(self, payload: bytes, count: int) -> list:
        self.waiter = asyncio.get_running_loop().create_future()
        self.replies, self.expected = [], count
        self.transport.write(payload)
        return await self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RespPool:
    """Idle connections of one event loop, reused last-in first-out; as many are opened as requests need at once.

    A connection whose exchange did not finish (an error, a timeout, a cancelled request) is closed, never reused:
    a reply still on its way would answer the next request."""

    def __init__(self, host: str, port: int, timeout: float) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def roundtrip(self, commands: list[tuple[str, ...]], transaction: bool = False) -> list:
        """The commands' replies, in order, sent in one round trip. A connection the engine closed since its
        last use (a restart) is replaced once; callers send only reads, which are safe to send again.

        With ``transaction`` the commands go between MULTI and EXEC: the server runs them one after the other,
        nothing else in between; the replies are the same."""
        payload = b"".join(hiredis.pack_command(command) for command in commands)
        if transaction:
            payload = _MULTI + payload + _EXEC
        for attempt in (1, 2):
            fresh = attempt == 2 or not self._has_idle()
            connection = await self._connect() if fresh else self._idle.pop()
            try:
                async with asyncio.timeout(self.timeout):
                    replies = await connection.exchange(payload, len(commands) + 2 * transaction)
            except TimeoutError as exc:
                connection.close()
                raise GraphUnavailable(f"graph engine unavailable: no reply within {self.timeout:g} s") from exc
            except ConnectionError as exc:
                connection.close()
                self.clear()  # the others went with it
                if fresh:
                    raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc
                continue
            except BaseException:  # cancelled mid-exchange
                connection.close()
                raise
            self._idle.append(connection)
            if transaction:
                replies = transaction_replies(replies)
            for reply in replies:
                if isinstance(reply, ResponseError) and str(reply).startswith(_UNAVAILABLE_REPLIES):
                    raise GraphUnavailable(f"graph engine unavailable: {reply}")
            return replies
        raise AssertionError("unreachable")

    def _has_idle(self) -> bool:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # connections belong to the loop that opened them
            self._idle, self._loop = [], loop
        while self._idle and self._idle[-1].closed:
            self._idle.pop()
        return bool(self._idle)

    async def _connect(self) -> _Connection:
        try:
            async with asyncio.timeout(self.timeout):
                _, connection = await asyncio.get_running_loop().create_connection(_Connection, self.host, self.port)
        except (OSError, TimeoutError) as exc:
            raise GraphUnavailable(f"graph engine unavailable: {exc}") from exc
        return connection

    def clear(self) -> None:
        """Close the idle connections; on their loop's thread."""
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def close(self) -> None:
        """Close the idle connections, from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            self._idle = []
        elif _running_loop() is loop:
            self.clear()
        else:
            loop.call_soon_threadsafe(self.clear)


_MULTI, _EXEC = hiredis.pack_command(("MULTI",)), hiredis.pack_command(("EXEC",))


def transaction_replies(replies: list) -> list:
    """The commands' own replies out of a transaction's (MULTI's, each command's QUEUED and EXEC's); the blocking
    client reads them the same way. A transaction the server refused (a command it would not queue, or a server
    still loading) answers EXEC with an error: each command gets the error it was refused with, or EXEC's."""
    executed = replies[-1]
    if not isinstance(executed, ResponseError):
        return executed
    return [reply if isinstance(reply, ResponseError) else executed for reply in replies[1:-1]]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
