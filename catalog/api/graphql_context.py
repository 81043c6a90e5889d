"""Per-request GraphQL state (the catalog, the caller, DataLoaders) and the subscription fan-out; the ASGI view
that serves /graphql is in catalog.api.graphql_http."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import cached_property, partial

from strawberry.dataloader import DataLoader

from catalog.api.auth import Principal
from catalog.api.graphql_types import Dataset, Job
from catalog.offload import in_thread
from catalog.store import reads
from catalog.store.base import Read
from catalog.store.coalesce import CoalescedReads
from policies import classifications


class _Loader:
    """A Context's DataLoader over ``read(keys)``, a Read of ``{key: value}``, made on the request's first use of it
    (a fresh one per request: its cache lives as long as the request) and kept on the Context from then on."""

    def __init__(self, read: Callable[[list[str]], Read]):
        self.read = read

    def __set_name__(self, owner, name: str) -> None:
        self.name = name

    def __get__(self, context: "Context", owner=None) -> DataLoader:
        # The loader must not hold the context, which holds it: a request's garbage would be a cycle that only the
        # collector frees (every ~350 requests, a pause of 15-55 ms).
        batched_reads, read = context.batched_reads, self.read

        async def load(keys):
            found = await batched_reads.read(read(list(keys)))
            return [found.get(k) for k in keys]
        context.__dict__[self.name] = loader = DataLoader(load_fn=load)  # an instance attribute: not made again
        return loader


class Context:
    """Per-request state: the catalog, the caller, and DataLoaders (made on first use: most requests need none)."""

    datasets = _Loader(partial(reads.nodes_read, "Dataset"))
    jobs = _Loader(partial(reads.nodes_read, "Job"))
    fields = _Loader(reads.fields_read)
    dataset_owners = _Loader(partial(reads.owners_read, "Dataset"))
    job_owners = _Loader(partial(reads.owners_read, "Job"))
    dataset_tags = _Loader(partial(reads.tags_read, "Dataset"))
    latest_runs = _Loader(reads.latest_runs_read)
    field_classifications = _Loader(classifications.of_fields_read)
    dataset_classifications = _Loader(classifications.of_datasets_read)

    @cached_property
    def batched_reads(self) -> CoalescedReads:
        """The loaders' reads: those of one turn of the loop (the fields of one object) go in one round trip."""
        return CoalescedReads(self.catalog.store)

    def __init__(self, app_state, principal: Principal):
        self.catalog = app_state.catalog
        self.settings = app_state.settings
        self.hub = app_state.hub
        self.auditor = app_state.auditor
        self.principal = principal
        self.actor = principal.actor

    async def call(self, fn, *args, **kwargs):
        return await in_thread(fn, *args, **kwargs)

    async def dataset(self, key: str) -> Dataset | None:
        props = await self.datasets.load(key)
        return Dataset.of(props) if props else None

    async def job(self, key: str) -> Job | None:
        props = await self.jobs.load(key)
        return Job.of(props) if props else None


class EventHub:
    """Fan-out of newly ingested runs to subscribers; slow subscribers drop notices, never block ingest."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.queues: set[asyncio.Queue] = set()

    def subscribe(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(maxsize=1000)
        self.queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue) -> None:
        self.queues.discard(queue)

    def publish_threadsafe(self, notices: list[dict]) -> None:
        if self.queues and notices:
            self.loop.call_soon_threadsafe(self._publish, notices)

    def _publish(self, notices: list[dict]) -> None:
        for queue in list(self.queues):
            for notice in notices:
                if queue.full():
                    break
                queue.put_nowait(notice)
