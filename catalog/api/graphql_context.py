"""Per-request GraphQL state (the catalog, the caller, DataLoaders), the subscription fan-out, and the
ASGI view that serves /graphql and GraphiQL (bundled, so it works offline)."""

from __future__ import annotations

import asyncio
from functools import cached_property

import orjson
from starlette.responses import HTMLResponse
from strawberry.asgi import GraphQL
from strawberry.dataloader import DataLoader

from catalog.api.auth import Principal
from catalog.api.offload import in_thread
from catalog.api.responses import encode
from catalog.api.graphql_types import Dataset, Job
from catalog.store import reads
from catalog.web.graphiql import graphiql_html
from policies import classifications


def _loader(fn) -> DataLoader:
    async def load(keys):
        found = await in_thread(fn, list(keys))
        return [found.get(k) for k in keys]
    return DataLoader(load_fn=load)


class Context:
    """Per-request state: the catalog, the caller, and DataLoaders (a fresh set per request, each made on first
    use: most requests need none of them)."""

    def __init__(self, app_state, principal: Principal):
        self.catalog = app_state.catalog
        self.settings = app_state.settings
        self.hub = app_state.hub
        self.auditor = app_state.auditor
        self.principal = principal
        self.actor = principal.actor

    @cached_property
    def datasets(self) -> DataLoader:
        return _loader(lambda keys: reads.nodes(self.catalog.store, "Dataset", keys))

    @cached_property
    def jobs(self) -> DataLoader:
        return _loader(lambda keys: reads.nodes(self.catalog.store, "Job", keys))

    @cached_property
    def fields(self) -> DataLoader:
        return _loader(lambda keys: reads.fields_of(self.catalog.store, keys))

    @cached_property
    def dataset_owners(self) -> DataLoader:
        return _loader(lambda keys: reads.owners_of(self.catalog.store, "Dataset", keys))

    @cached_property
    def job_owners(self) -> DataLoader:
        return _loader(lambda keys: reads.owners_of(self.catalog.store, "Job", keys))

    @cached_property
    def dataset_tags(self) -> DataLoader:
        return _loader(lambda keys: reads.tags_of(self.catalog.store, "Dataset", keys))

    @cached_property
    def latest_runs(self) -> DataLoader:
        return _loader(lambda keys: reads.latest_runs(self.catalog.store, keys))

    @cached_property
    def field_classifications(self) -> DataLoader:
        return _loader(lambda keys: classifications.of_fields(self.catalog.store, keys))

    @cached_property
    def dataset_classifications(self) -> DataLoader:
        return _loader(lambda keys: classifications.of_datasets(self.catalog.store, keys))

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


class CatalogGraphQL(GraphQL):
    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def encode_json(self, data: object) -> bytes:
        return encode(data)

    async def render_graphql_ide(self, request) -> HTMLResponse:
        return HTMLResponse(graphiql_html())

    async def get_context(self, request, response) -> Context:
        return Context(request.app.state, request.scope["state"]["principal"])
