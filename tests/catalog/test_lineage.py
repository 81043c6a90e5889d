"""Traversal against a reference BFS (networkx) on generated graphs, property-based."""

import asyncio

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.lineage import LineageError, column_lineage, lineage_page, lineage_plan, marquez_plan, traverse
from ingestors.openlineage import GraphWrites


def awaited(store, plan):
    """A plan's answer on a fresh event loop, as the server reads it (GraphStore.arun), closing what it opened."""
    async def run():
        try:
            return await store.arun(plan)
        finally:
            await store.aclose()
    return asyncio.run(run())


def load_graph(store, graph: nx.DiGraph, seen=lambda u, v: 1000) -> None:
    writes = GraphWrites()
    for node in graph.nodes:
        writes.add("datasets", key=f"d{node}", namespace="gen", name=str(node), seen=1000)
    for u, v in graph.edges:
        writes.add("feeds", src=f"d{u}", dst=f"d{v}", seen=seen(u, v))
    store.apply(writes)


def reference(graph: nx.DiGraph, start: int, direction: str, depth: int) -> dict[str, int]:
    def bfs(g):
        return nx.single_source_shortest_path_length(g, start, cutoff=depth)

    found: dict[int, int] = {}
    if direction in ("DOWNSTREAM", "BOTH"):
        found.update(bfs(graph))
    if direction in ("UPSTREAM", "BOTH"):
        for node, d in bfs(graph.reverse()).items():
            found[node] = min(d, found.get(node, d))
    return {f"d{n}": d for n, d in found.items()}


graphs = st.integers(min_value=2, max_value=60).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=n * 3),
        st.integers(0, n - 1),
    )
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(spec=graphs, direction=st.sampled_from(["UPSTREAM", "DOWNSTREAM", "BOTH"]), depth=st.integers(0, 12))
def test_traverse_matches_reference_bfs(module_store, spec, direction, depth):
    n, edges, start = spec
    graph = nx.DiGraph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from(edges)
    module_store.clear()
    load_graph(module_store, graph)
    result = traverse(module_store, [f"d{start}"], direction, depth)
    expected = reference(graph, start, direction, depth)
    assert result.depth_of == expected
    assert not result.is_partial
    assert result.depth_reached == max(expected.values())
    for src, dst in result.edges:
        assert graph.has_edge(int(src[1:]), int(dst[1:]))
        assert src in result.depth_of and dst in result.depth_of


def test_layered_graph_and_node_limit(module_store):
    module_store.clear()
    graph = nx.DiGraph()
    layers, width = 30, 40
    for layer in range(layers - 1):
        for i in range(width):
            graph.add_edge(layer * width + i, (layer + 1) * width + (i * 7 + layer) % width)
            graph.add_edge(layer * width + i, (layer + 1) * width + (i * 3 + 1) % width)
    load_graph(module_store, graph)
    for depth in (1, 3, 10, 25):
        assert traverse(module_store, ["d0"], "DOWNSTREAM", depth).depth_of == reference(graph, 0, "DOWNSTREAM", depth)
    limited = traverse(module_store, ["d0"], "DOWNSTREAM", 25, max_nodes=50)
    assert limited.is_partial and len(limited.depth_of) == 50
    full = reference(graph, 0, "DOWNSTREAM", 25)
    assert all(full[k] == d for k, d in limited.depth_of.items())  # every node at its true depth


def test_as_of_hides_edges_first_seen_later(module_store):
    module_store.clear()
    graph = nx.DiGraph([(0, 1), (1, 2), (0, 3)])
    load_graph(module_store, graph, seen=lambda u, v: 5000 if (u, v) == (1, 2) else 1000)
    assert set(traverse(module_store, ["d0"], "DOWNSTREAM", 5).depth_of) == {"d0", "d1", "d2", "d3"}
    assert set(traverse(module_store, ["d0"], "DOWNSTREAM", 5, as_of=2000).depth_of) == {"d0", "d1", "d3"}


def test_bad_requests_are_lineage_errors(module_store):
    with pytest.raises(LineageError, match="direction"):
        traverse(module_store, ["d0"], "SIDEWAYS", 1)
    with pytest.raises(LineageError, match="no dataset"):
        module_store.run(marquez_plan(module_store, "dataset:nope:nothing", 1, max_depth=10, max_nodes=100))
    with pytest.raises(LineageError, match="depth must be between"):
        module_store.run(marquez_plan(module_store, "dataset:gen:0", 99, max_depth=10, max_nodes=100))
    with pytest.raises(LineageError, match="nodeId must look like"):
        module_store.run(marquez_plan(module_store, "table:x", 1, max_depth=10, max_nodes=100))


def test_lineage_page_with_colons_in_namespaces(module_store):
    from catalog.lineage import lineage_page
    from ingestors.openlineage import canonical_json, event_hash, map_event

    event = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "p",
             "run": {"runId": "r-1"}, "job": {"namespace": "postgres://db:5432", "name": "copy:users"},
             "inputs": [{"namespace": "postgres://db:5432", "name": "public.users"}],
             "outputs": [{"namespace": "s3://lake", "name": "users"}]}
    module_store.apply(map_event(event, event_hash(canonical_json(event))))
    page = lineage_page(module_store, "job:postgres://db:5432:copy:users", "BOTH", 2, max_depth=5, max_nodes=100, first=100)
    job = next(n for n in page["nodes"] if n["type"] == "JOB")
    assert (job["namespace"], job["name"], job["depth"]) == ("postgres://db:5432", "copy:users", 0)
    assert {n["id"] for n in page["nodes"]} == {"job:postgres://db:5432:copy:users",
                                                 "dataset:postgres://db:5432:public.users", "dataset:s3://lake:users"}
    assert {"origin": "job:postgres://db:5432:copy:users", "destination": "dataset:s3://lake:users"} in page["edges"]

    # A job with no inputs or outputs is its own view, with its latest run.
    lonely = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "p", "run": {"runId": "r-2"},
              "job": {"namespace": "postgres://db:5432", "name": "vacuum"}}
    module_store.apply(map_event(lonely, event_hash(canonical_json(lonely))))
    view = module_store.run(marquez_plan(module_store, "job:postgres://db:5432:vacuum", 2, max_depth=5, max_nodes=100))
    assert module_store.run(marquez_plan(module_store, "job:postgres://db:5432:vacuum", 2, max_depth=5,
                                         max_nodes=100, jobs_around_max=0)) == view
    [job] = view["graph"]
    assert (job["id"], job["inEdges"], job["outEdges"]) == ("job:postgres://db:5432:vacuum", [], [])
    assert job["data"]["latestRun"]["id"] == "r-2"

    # The Marquez-shaped view, from the job and from a dataset: the start node is read once and still described.
    for start in ("job:postgres://db:5432:copy:users", "dataset:s3://lake:users"):
        view = module_store.run(marquez_plan(module_store, start, 1, max_depth=5, max_nodes=100))
        assert awaited(module_store, marquez_plan(module_store, start, 1, max_depth=5, max_nodes=100)) == view
        # Read as large pages are (the jobs' edges, then the jobs): the same view.
        assert module_store.run(marquez_plan(module_store, start, 1, max_depth=5, max_nodes=100,
                                             jobs_around_max=0)) == view
        graph = {n["id"]: n for n in view["graph"]}
        assert set(graph) == {"job:postgres://db:5432:copy:users", "dataset:postgres://db:5432:public.users",
                              "dataset:s3://lake:users"}
        assert graph["job:postgres://db:5432:copy:users"]["data"]["name"] == "copy:users"
        assert graph["dataset:s3://lake:users"]["data"]["namespace"] == "s3://lake"
        assert graph["dataset:s3://lake:users"]["inEdges"] == [{"origin": "job:postgres://db:5432:copy:users",
                                                                "destination": "dataset:s3://lake:users"}]


# Lineage pages: datasets and the jobs between them, paged, against a reference built from the runs.
runs_spec = st.integers(min_value=2, max_value=20).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.lists(st.tuples(st.integers(0, 5), st.sets(st.integers(0, n - 1), min_size=1, max_size=3),
                           st.sets(st.integers(0, n - 1), min_size=1, max_size=3)), min_size=1, max_size=n * 2),
    )
)


def load_runs(store, n: int, runs) -> None:
    """Each run of a job reads its inputs and writes its outputs, as the event mapping writes them."""
    writes = GraphWrites()
    for node in range(n):
        writes.add("datasets", key=f"dataset:gen:d{node}", namespace="gen", name=f"d{node}", seen=1000)
    for job, inputs, outputs in runs:
        key = f"job:gen:j{job}"
        writes.add("jobs", key=key, namespace="gen", name=f"j{job}", seen=1000)
        for i in inputs:
            writes.add("consumes", src=key, dst=f"dataset:gen:d{i}", seen=1000)
        for o in outputs:
            writes.add("produces", src=key, dst=f"dataset:gen:d{o}", seen=1000)
        for i in inputs:
            for o in outputs:
                writes.add("feeds", src=f"dataset:gen:d{i}", dst=f"dataset:gen:d{o}", seen=1000)
    store.apply(writes)


def reference_page(runs, start: str, direction: str, depth: int) -> tuple[dict[str, int], set[tuple[str, str]]]:
    """Node depths and edges of the lineage as lineage_page documents it, computed with networkx."""
    feeds = nx.DiGraph()
    consumes, produces = {}, {}
    for job, inputs, outputs in runs:
        consumes.setdefault(f"j{job}", set()).update(f"d{i}" for i in inputs)
        produces.setdefault(f"j{job}", set()).update(f"d{o}" for o in outputs)
        feeds.add_edges_from((f"d{i}", f"d{o}") for i in inputs for o in outputs)
    seeds = sorted(consumes[start] | produces[start]) if start.startswith("j") else [start]
    depth_of: dict[str, int] = {}
    pair_hop: dict[tuple[str, str], int] = {}
    for dirn, graph in (("DOWNSTREAM", feeds), ("UPSTREAM", feeds.reverse())):
        if direction not in (dirn, "BOTH"):
            continue
        graph = graph.copy()
        graph.add_nodes_from(seeds)
        graph.add_edges_from(("seed", s) for s in seeds)
        reach = {n: d - 1 for n, d in nx.single_source_shortest_path_length(graph, "seed", cutoff=depth + 1).items()
                 if n != "seed"}
        for node, d in reach.items():
            depth_of[node] = min(d, depth_of.get(node, d))
        for a, b in graph.edges:  # a traversed edge: from an expanded node to a found one
            if a != "seed" and a in reach and reach[a] < depth and b in reach:
                pair = (a, b) if dirn == "DOWNSTREAM" else (b, a)
                pair_hop[pair] = min(reach[a] + 1, pair_hop.get(pair, reach[a] + 1))
    job_depth = {job: min(hop for (i, o), hop in pair_hop.items() if i in consumes[job] and o in produces[job])
                 for job in consumes if any(i in consumes[job] and o in produces[job] for i, o in pair_hop)}
    if start.startswith("j"):
        job_depth[start] = 0
    nodes = {f"dataset:gen:{d}": h for d, h in depth_of.items()} | {f"job:gen:{j}": h for j, h in job_depth.items()}
    edges = {(f"dataset:gen:{d}", f"job:gen:{j}") for j in job_depth for d in consumes[j] if d in depth_of}
    edges |= {(f"job:gen:{j}", f"dataset:gen:{d}") for j in job_depth for d in produces[j] if d in depth_of}
    return nodes, edges


def test_lineage_pages_match_the_reference_and_add_up(module_store):
    # The walk's statements are the same on both engines; Neo4j answers each more slowly, so it takes fewer
    # examples (the suite stays under 20 minutes).
    @settings(max_examples=150 if module_store.name == "falkordb" else 60, deadline=None, database=None)
    @given(spec=runs_spec, direction=st.sampled_from(["UPSTREAM", "DOWNSTREAM", "BOTH"]), depth=st.integers(0, 6),
           start_job=st.booleans(), page_size=st.integers(1, 6), data=st.data())
    def check(spec, direction, depth, start_job, page_size, data):
        pages_match_the_reference_and_add_up(module_store, spec, direction, depth, start_job, page_size, data)

    check()


def pages_match_the_reference_and_add_up(module_store, spec, direction, depth, start_job, page_size, data):
    from catalog.lineage import lineage_page
    n, runs = spec
    module_store.clear()
    load_runs(module_store, n, runs)
    if start_job:
        start = f"j{data.draw(st.sampled_from(sorted({job for job, _, _ in runs})))}"
    else:
        start = f"d{data.draw(st.integers(0, n - 1))}"
    node_id = f"{'job' if start_job else 'dataset'}:gen:{start}"
    full = lineage_page(module_store, node_id, direction, depth, max_depth=10, max_nodes=1000, first=1000)
    nodes, edges = reference_page(runs, start, direction, depth)
    # The REST view reads its jobs with its datasets in one statement up to JOBS_AROUND_MAX datasets, then their
    # edges and the jobs in a round trip after: both give the same view.
    assert module_store.run(marquez_plan(module_store, node_id, depth, max_depth=10, max_nodes=1000)) == \
        module_store.run(marquez_plan(module_store, node_id, depth, max_depth=10, max_nodes=1000, jobs_around_max=0))
    assert {x["id"]: x["depth"] for x in full["nodes"]} == nodes
    assert {(e["origin"], e["destination"]) for e in full["edges"]} == edges
    assert full["totalReachable"] == len(nodes) and not full["hasNextPage"] and not full["isPartial"]

    # Pages that explore only the hops they need give the same nodes, in order, and each edge once; read as the
    # server reads them, on the event loop.
    seen, seen_edges, after = [], [], None
    while True:
        page = awaited(module_store, lineage_plan(module_store, node_id, direction, depth, max_depth=10,
                                                  max_nodes=1000, first=page_size, after=after, count_all=False))
        assert page["totalReachable"] in (None, len(nodes))
        seen += page["nodes"]
        seen_edges += [(e["origin"], e["destination"]) for e in page["edges"]]
        if not page["hasNextPage"]:
            break
        after = page["endCursor"]
    assert seen == full["nodes"]
    assert sorted(seen_edges) == sorted((e["origin"], e["destination"]) for e in full["edges"])


def _model_event(run: str, time: str, inputs: list[str], column_sources: dict[str, tuple[str, str]]) -> dict:
    """A dbt-ol-shaped event: a model whose column lineage may name datasets its inputs leave out."""
    return {
        "eventType": "COMPLETE", "eventTime": time, "producer": "https://example.com/dbt-like",
        "run": {"runId": run}, "job": {"namespace": "dbt", "name": "model.shop.customers"},
        "inputs": [{"namespace": "duckdb", "name": name} for name in inputs],
        "outputs": [{"namespace": "duckdb", "name": "main.customers", "facets": {"columnLineage": {
            "_producer": "https://example.com/dbt-like",
            "_schemaURL": "https://openlineage.io/spec/facets/1-2-0/ColumnLineageDatasetFacet.json",
            "fields": {column: {"inputFields": [{"namespace": "duckdb", "name": ds, "field": field}]}
                       for column, (ds, field) in column_sources.items()}}}}],
    }


def _upstream_edges(store) -> dict[tuple[str, str], str | None]:
    page = lineage_page(store, "dataset:duckdb:main.customers", "UPSTREAM", 3, max_depth=25, max_nodes=1000)
    return {(e["origin"], e["destination"]): e.get("impliedBy") for e in page["edges"]}


def test_datasets_only_column_lineage_names_are_inputs_marked_as_implied(module_store):
    from tests.catalog.store.test_store_contract import writes_for

    store = module_store
    store.clear()
    columns = {"email": ("main.stg_customers", "email"), "country": ("main.raw_countries", "name")}
    store.apply(writes_for([_model_event("11111111-1111-4111-8111-111111111111", "2026-11-01T00:00:00Z",
                                         ["main.stg_customers"], columns)]))
    job = "job:dbt:model.shop.customers"
    assert _upstream_edges(store) == {
        ("dataset:duckdb:main.stg_customers", job): None,
        ("dataset:duckdb:main.raw_countries", job): "columnLineage",
        (job, "dataset:duckdb:main.customers"): None,
    }
    # Dataset lineage reaches what column lineage reaches.
    fields = column_lineage(store, "datasetField:duckdb:main.customers:country", "UPSTREAM", 3, max_depth=25,
                            max_nodes=1000)
    assert {n["datasetId"] for n in fields["nodes"]} <= {n["id"] for n in lineage_page(
        store, "dataset:duckdb:main.customers", "UPSTREAM", 3, max_depth=25, max_nodes=1000)["nodes"]}

    # A later run that lists it as an input clears the mark, and an implied mention after that does not set it.
    store.apply(writes_for([_model_event("22222222-2222-4222-8222-222222222222", "2026-11-02T00:00:00Z",
                                         ["main.stg_customers", "main.raw_countries"], columns)]))
    store.apply(writes_for([_model_event("33333333-3333-4333-8333-333333333333", "2026-11-03T00:00:00Z",
                                         ["main.stg_customers"], columns)]))
    assert _upstream_edges(store)[("dataset:duckdb:main.raw_countries", job)] is None



def test_a_hub_page_reads_its_hop_only_as_far_as_the_page_needs(module_store):
    """A dataset read by 100 jobs: a first page of 10 without totalReachable takes the 10 lowest of the hop,
    as the whole lineage orders them, and says it is partial; the whole lineage is not."""
    module_store.clear()
    load_runs(module_store, 101, [(job, {0}, {job + 1}) for job in range(100)])
    node = "dataset:gen:d0"
    whole = lineage_page(module_store, node, "DOWNSTREAM", 3, max_depth=10, max_nodes=1000, first=1000)
    assert whole["totalReachable"] == 201 and not whole["isPartial"]
    seen, after = [], None
    for _ in range(3):
        page = lineage_page(module_store, node, "DOWNSTREAM", 3, max_depth=10, max_nodes=1000, first=10,
                            after=after, count_all=False)
        assert page["isPartial"] and page["hasNextPage"] and page["totalReachable"] is None
        seen += page["nodes"]
        after = page["endCursor"]
    assert seen == whole["nodes"][:30]
