import asyncio
import gc
import types
import uuid
from types import SimpleNamespace

from catalog.api.auth import Principal
from catalog.api.graphql import schema
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


def test_a_query_leaves_no_reference_cycles_behind(store):
    """What a query makes (its executor, context, loaders and cost walk) is freed as the query ends, not left to the
    garbage collector, whose collections of it paused the server 15-55 ms every ~350 requests."""
    store.apply(writes_for([run_event(str(uuid.uuid4()), "COMPLETE", "2024-01-01T00:00:00Z", ["a"], ["b"])]))
    state = SimpleNamespace(catalog=SimpleNamespace(store=store), settings=None, hub=None, auditor=None)
    query = ("query($ns: String!, $n: String!) { dataset(namespace: $ns, name: $n) { id name fields { name type } "
             "tags owners { name } classifications { entity } } job(namespace: $ns, name: \"etl\") { name "
             "latestRun { id } } }")

    async def queries(times: int) -> None:
        for _ in range(times):
            result = await schema.execute(query, variable_values={"ns": "ns", "n": "b"},
                                          context_value=Context(state, Principal(actor="local", role="admin")))
            assert not result.errors and result.data["dataset"]["name"] == "b"

    def made_here(thing) -> bool:
        module = thing.__module__ if isinstance(thing, types.FunctionType) else type(thing).__module__
        return (module or "").startswith(("catalog", "graphql", "strawberry"))

    async def left_behind() -> list:
        try:
            await queries(3)  # the document parsed, validated and compiled
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)
            await queries(20)
            gc.collect()
            return [thing for thing in gc.garbage if made_here(thing)]
        finally:
            gc.set_debug(0)
            gc.garbage.clear()
            await store.aclose()

    assert asyncio.run(left_behind()) == []
