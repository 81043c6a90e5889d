import asyncio
import uuid
from types import SimpleNamespace

from catalog.api.auth import Principal
from catalog.api.graphql_context import Context
from catalog.store import reads
from tests.catalog.store.test_coalesce import CountingStore
from tests.catalog.store.test_store_contract import run_event, writes_for


def _context() -> Context:
    state = SimpleNamespace(catalog=SimpleNamespace(store=object()), settings=None, hub=None, auditor=None)
    return Context(state, Principal(actor="local", role="admin"))


def test_a_loader_is_made_on_first_use_kept_for_the_request_and_fresh_for_the_next():
    first, second = _context(), _context()
    assert "datasets" not in vars(first)  # a request that loads nothing makes no loader
    loader = first.datasets
    assert first.datasets is loader and vars(first)["datasets"] is loader
    assert second.datasets is not loader  # a loader's cache lives as long as its request
    assert first.jobs is not loader


def test_the_loaders_of_one_object_read_in_one_round_trip(store):
    """The loads GraphQL makes for the fields of one object (one turn of the loop) reach the engine together; a load
    made once they are answered goes in a round trip of its own. Answers are the plain functions'."""
    store.apply(writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["b"])]))
    counting = CountingStore(store)
    state = SimpleNamespace(catalog=SimpleNamespace(store=counting), settings=None, hub=None, auditor=None)
    key = "dataset:ns:b"

    async def resolve():
        try:
            context = Context(state, Principal(actor="local", role="admin"))
            one_object = await asyncio.gather(context.datasets.load(key), context.fields.load(key),
                                              context.dataset_tags.load(key), context.dataset_owners.load(key))
            return one_object, await context.jobs.load("job:ns:etl")
        finally:
            await store.aclose()

    (dataset, fields, tags, owners), job = asyncio.run(resolve())
    assert counting.round_trips == [4, 1]
    assert dataset == reads.nodes(store, "Dataset", [key])[key] and fields == reads.fields_of(store, [key])[key]
    assert (tags, owners) == ([], []) and job["name"] == "etl"
