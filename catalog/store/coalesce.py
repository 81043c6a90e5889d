"""Reads asked for in one turn of the event loop, sent to the engine together: one round trip where each would be one.

GraphQL resolves the fields of an object in one turn of the loop, and each field's DataLoader reads on its own; asked
through one :class:`CoalescedReads`, the reads of those loaders reach the engine in one round trip (FalkorDB: one
pipeline; Neo4j: one statement, see ``fused_read``).
"""

from __future__ import annotations

import asyncio

from catalog.store.base import GraphStore, Read


class CoalescedReads:
    """Sends the reads asked for before the loop's next turn in one ``store.aread``. If that fails, every read of
    the batch fails with its error: they went to the engine together."""

    def __init__(self, store: GraphStore):
        self._store = store
        self._pending: list[tuple[Read, asyncio.Future]] = []
        self._sending: set[asyncio.Task] = set()  # held until done: the loop keeps only weak references to tasks

    def read(self, read: Read) -> asyncio.Future:
        """The shaped result of ``read``, once it and the reads asked for in the same turn have been answered."""
        loop = asyncio.get_running_loop()
        if not self._pending:
            loop.call_soon(self._send)
        future = loop.create_future()
        self._pending.append((read, future))
        return future

    def _send(self) -> None:
        batch, self._pending = self._pending, []
        task = asyncio.ensure_future(self._answer(batch))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _answer(self, batch: list[tuple[Read, asyncio.Future]]) -> None:
        try:
            results = await self._store.aread(*(read for read, _ in batch))
        except Exception as exc:  # noqa: BLE001 - handed to every reader of the batch
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a reader that gave up (its request timed out) is not answered
                future.set_result(result)
