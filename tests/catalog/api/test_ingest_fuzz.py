"""Property-based fuzzing of the live ingestion endpoint with mutated real OpenLineage events.

Each example is a real event from the corpus with one to four mutations (a key deleted or
renamed, a value replaced by any JSON, an injection string or an oversized number, a list
item duplicated). Whatever comes in: never a 5xx; an accepted event is in the graph whole
(job, run, every dataset); a rejected one changes neither the graph nor the event log.
"""

import copy
import json
import os

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.store.falkor_backend import FalkorStore
from ingestors.openlineage import dataset_id, job_id, run_id
from tests.conftest import VALID_DIR, ServerProcess, load_events
from tests.graphs import counts, snapshot

EXAMPLES = int(os.environ.get("CATALOG_FUZZ_EXAMPLES", "2000"))
CORPUS = [event for _, event in load_events(VALID_DIR)]
HOSTILE_STRINGS = [
    "", " ", "\x00", "'", '"', "`", "\\", "}", "$key", "'}) MATCH (n) DETACH DELETE n //",
    '"}) MATCH (n) DETACH DELETE n RETURN 1 //', "x` {key: 1}) DETACH DELETE n //", "a" * 3000, "💥🚀", "null",
    "2024-13-45T99:99:99Z", "-1", "1e309", "../../etc/passwd", "<script>alert(1)</script>",
]
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**70, max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20) | st.sampled_from(HOSTILE_STRINGS),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=8,
)


def paths(value, prefix=()):
    """Every (container path, key) inside a JSON value."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield prefix, key
        yield from paths(child, prefix + (key,))


def at(value, path):
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated_events(draw):
    event = copy.deepcopy(draw(st.sampled_from(CORPUS)))
    for _ in range(draw(st.integers(1, 4))):
        candidates = list(paths(event))
        if not candidates:
            break
        path, key = draw(st.sampled_from(candidates))
        container = at(event, path)
        operation = draw(st.sampled_from(["delete", "replace", "hostile", "rename", "duplicate"]))
        if operation == "delete":
            del container[key]
        elif operation == "replace":
            container[key] = draw(json_values)
        elif operation == "hostile":
            container[key] = draw(st.sampled_from(HOSTILE_STRINGS))
        elif operation == "rename" and isinstance(container, dict):
            container[draw(st.sampled_from(HOSTILE_STRINGS[1:]) | st.text(max_size=8))] = container.pop(key)
        elif operation == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return event


def written_whole(graph: FalkorStore, event: dict) -> list[str]:
    """Keys the accepted event should have put in the graph that are not there."""
    expected = []
    if "dataset" in event and "job" not in event:
        expected.append(dataset_id(event["dataset"]["namespace"], event["dataset"]["name"]))
    else:
        expected.append(job_id(event["job"]["namespace"], event["job"]["name"]))
        if "run" in event:
            expected.append(run_id(event["run"]["runId"]))
        expected += [dataset_id(d["namespace"], d["name"]) for d in (event.get("inputs") or []) +
                     (event.get("outputs") or [])]
    found = graph.query("UNWIND $keys AS k OPTIONAL MATCH (n {key: k}) RETURN k, n IS NOT NULL AS present",
                        {"keys": expected}, read_only=True)
    return [row["k"] for row in found if not row["present"]]


@pytest.fixture(scope="module")
def live(tmp_path_factory, module_graph_args):
    with ServerProcess(tmp_path_factory.mktemp("fuzz") / "data", *module_graph_args) as server, \
            httpx.Client(base_url=server.url, timeout=30) as http:
        graph = server.graph()
        yield server, http, graph
        graph.close()


def log_size(http: httpx.Client) -> int:
    return http.get("/health").json()["eventLog"]["events"]


def test_mutated_real_events_never_5xx_never_half_written(live):
    server, http, graph = live
    outcomes = {"accepted": 0, "rejected": 0}
    rejected: list[bytes] = []
    # Validation is the same whatever the engine; Neo4j writes slower, so it takes a quarter of the examples
    # (the suite stays under 20 minutes) and still sees every kind of mutation.
    examples = EXAMPLES if graph.name == "falkordb" else EXAMPLES // 4
    state = [(counts(graph), log_size(http))]  # the graph's and the log's sizes after the last example

    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(event=mutated_events())
    def post_one(event):
        body = json.dumps(event, ensure_ascii=False).encode("utf-8", "surrogatepass")
        response = http.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"})
        before, after = state[0], (counts(graph), log_size(http))
        state[0] = after  # nothing else writes: this example's after is the next one's before
        assert response.status_code < 500, response.text
        if response.status_code == 201:
            outcomes["accepted"] += 1
            assert written_whole(graph, event) == []
        else:
            outcomes["rejected"] += 1
            assert response.status_code in (400, 413, 422), response.text
            assert response.json()["error"]
            assert after == before
            rejected.append(body)

    post_one()
    print(f"{sum(outcomes.values())} mutated events: {outcomes}")
    assert outcomes["accepted"] > 0 and outcomes["rejected"] > examples // 4

    # All the rejected ones again, against a full digest of the graph's nodes, edges and properties.
    before, logged = snapshot(graph), log_size(http)
    for body in rejected:
        assert http.post("/api/v1/lineage", content=body, headers={"Content-Type": "application/json"}).status_code \
            in (400, 413, 422)
    assert (snapshot(graph), log_size(http)) == (before, logged)
