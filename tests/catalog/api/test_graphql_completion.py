"""Compiled completion answers exactly as graphql-core's own, on the real schema over a real store loaded with
the real OpenLineage corpus (both engines), and on a small schema built to return what it must not accept."""

import asyncio
from types import SimpleNamespace

import pytest
import strawberry

from catalog.api import graphql_completion
from catalog.api.auth import Principal
from catalog.api.graphql import Mutation, Query, Subscription, schema
from catalog.api.graphql_completion import CompilingExecutionContext
from catalog.api.graphql_context import Context
from catalog.api.graphql_cost import QueryCostLimiter
from catalog.api.graphql_documents import CachedDocuments
from catalog.config import Settings
from tests.catalog.store.test_store_contract import writes_for

# The same types and extensions, completed field by field by graphql-core: the reference.
GENERAL = strawberry.Schema(query=Query, mutation=Mutation, subscription=Subscription,
                            extensions=[CachedDocuments, QueryCostLimiter])


@pytest.fixture(scope="module")
def loaded(module_store, valid_events):
    module_store.apply(writes_for([event for _, event in valid_events]))
    return module_store


def context(store) -> Context:
    state = SimpleNamespace(catalog=SimpleNamespace(store=store), settings=Settings(), hub=None, auditor=None)
    return Context(state, Principal(actor="test", role="admin"))


def same_answers(compiled_schema, general_schema, document: str, variables: dict, context_value=None):
    """Both schemas' answers to a document, which must be equal: data, and errors with their paths."""
    compiled, general = (asyncio.run(s.execute(document, variable_values=variables, context_value=context_value))
                         for s in (compiled_schema, general_schema))
    assert compiled.data == general.data
    assert [e.formatted for e in compiled.errors or []] == [e.formatted for e in general.errors or []]
    return compiled


def both(store, document: str, **variables):
    return same_answers(schema, GENERAL, document, variables, context(store))


ORDERS = "dataset:food_delivery:public.orders_7_days"
DOCUMENTS = {
    "lineage, every plain field": """query($id: String!) { lineage(nodeId: $id, depth: 3) {
        nodes { id type depth namespace name datasetId } edges { origin destination transformationType
        transformationSubtype masking impliedBy } depthReached isPartial totalReachable
        pageInfo { hasNextPage endCursor } } }""",
    "aliases, __typename, named and inline fragments": """query($id: String!) {
        up: lineage(nodeId: $id, direction: UPSTREAM, depth: 2) { ...graph }
        down: lineage(nodeId: $id, direction: DOWNSTREAM, depth: 2) { __typename nodes { ... on LineageNode { key: id
        kind: type } depth } } }
        fragment graph on LineageGraph { __typename nodes { id name } nodes { depth }
        edges { a: origin b: destination } }""",
    "a resolver below a plain list (owners, dataset)": """query($id: String!) { lineage(nodeId: $id, depth: 1) {
        nodes { id type dataset { id name namespace } owners { name } } } }""",
    "datasets with resolver fields and datetimes": """{ datasets(first: 5) { totalCount pageInfo { hasNextPage
        endCursor } nodes { id name namespace description createdAt updatedAt fields { name type } } } }""",
    "jobs and their latest runs": """{ jobs(first: 5) { nodes { id name
        latestRun { id state startedAt endedAt } } } }""",
    "search hits with enums and nulls": """{ search(query: "orders") { type id name namespace datasetId } }""",
    "column lineage": """{ columnLineage(nodeId: "datasetField:food_delivery:public.orders_7_days:order_id",
        depth: 2) { nodes { id type name datasetId } edges { origin destination transformationType } } }""",
    "an error from the resolver": """{ lineage(nodeId: "dataset:nowhere:none") { nodes { id } } }""",
}


@pytest.mark.parametrize("name", DOCUMENTS)
def test_compiled_answers_equal_graphql_cores(loaded, name):
    for _ in range(2):  # the first request compiles, the second runs the compiled function
        both(loaded, DOCUMENTS[name], id=ORDERS)


def test_a_lineage_answer_is_compiled_once_and_then_reused(loaded, monkeypatch):
    compiled_types = []
    compile_one = CompilingExecutionContext._compile

    def counting(self, return_type, field_details_list):
        plan = compile_one(self, return_type, field_details_list)
        compiled_types.append((str(return_type), plan is not None))
        return plan
    monkeypatch.setattr(CompilingExecutionContext, "_compile", counting)
    graphql_completion._PLANS.clear()
    document = DOCUMENTS["lineage, every plain field"]
    assert both(loaded, document, id=ORDERS).data["lineage"]["nodes"], "the corpus has lineage around it"
    assert ("LineageGraph!", True) in compiled_types  # the whole answer below the root field, in one function
    compiled_types.clear()
    both(loaded, document, id=ORDERS)
    assert compiled_types == []  # found by its field nodes: the document is the cached one


@pytest.mark.parametrize("shown", [True, False])
def test_a_directive_decided_by_variables_is_never_compiled_in(loaded, shown):
    document = """query($id: String!, $shown: Boolean!) { lineage(nodeId: $id, depth: 1) {
        nodes { id name @include(if: $shown) } } }"""
    for value in (shown, not shown):
        result = both(loaded, document, id=ORDERS, shown=value)
        assert all(("name" in n) is value for n in result.data["lineage"]["nodes"])


# A small schema whose resolver returns what the schema does not allow or the compiled function does not expect:
# it must give up, and the answer (data, errors and their paths) must be graphql-core's.
@strawberry.type
class Item:
    name: str
    size: int | None = None


@strawberry.type
class Box:
    items: list[Item]
    label: str


@strawberry.type
class Odd:
    @strawberry.field
    def box(self, kind: str) -> Box | None:
        if kind == "null item name":
            return Box(items=[Item(name="a"), Item(name=None)], label="x")  # type: ignore[arg-type]
        if kind == "not a list":
            return Box(items=Item(name="a"), label="x")  # type: ignore[arg-type]
        if kind == "wrong type":
            return Box(items=[SimpleNamespace(name="a", size=1)], label="x")  # type: ignore[list-item]
        if kind == "bad leaf":
            return Box(items=[Item(name="a", size="many")], label="x")  # type: ignore[arg-type]
        return Box(items=[Item(name="a", size=1), Item(name="b")], label="fine")


ODD_COMPILED = strawberry.Schema(query=Odd, execution_context_class=CompilingExecutionContext)
ODD_GENERAL = strawberry.Schema(query=Odd)


@pytest.mark.parametrize("kind, refused", [("fine", False), ("null item name", True), ("not a list", True),
                                           ("bad leaf", True),
                                           ("wrong type", False)])  # graphql-core takes any object with the fields
def test_values_the_schema_refuses_get_graphql_cores_errors(kind, refused):
    document = "query($kind: String!) { box(kind: $kind) { label items { name size } } }"
    for _ in range(2):
        answer = same_answers(ODD_COMPILED, ODD_GENERAL, document, {"kind": kind})
        assert bool(answer.errors) is refused
