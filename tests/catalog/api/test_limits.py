"""Rate limits per key and request timeouts."""

import asyncio
import time

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from catalog.api.limits import TimeoutMiddleware
from catalog.logstore.sqlite_backend import TokenBuckets
from catalog.keys import KeyStore
from tests.conftest import ServerProcess


def test_token_buckets_allow_a_burst_then_the_rate_per_client():
    now = [0.0]
    buckets = TokenBuckets(clock=lambda: now[0])
    assert [buckets.take("a", 2, 3) for _ in range(3)] == [0, 0, 0]
    assert buckets.take("a", 2, 3) == pytest.approx(0.5)  # one token comes back every 0.5 s
    assert buckets.take("b", 2, 3) == 0  # another key has its own bucket
    now[0] = 0.5
    assert buckets.take("a", 2, 3) == 0
    assert buckets.take("a", 2, 3) > 0
    now[0] = 100.0
    assert [buckets.take("a", 2, 3) for _ in range(3)] == [0, 0, 0]  # refilled to the burst, not beyond
    assert buckets.take("a", 2, 3) > 0


async def slow(request):
    await asyncio.sleep(float(request.query_params["seconds"]))
    return JSONResponse({"done": True})


def test_a_request_over_the_time_limit_gets_504_and_others_are_unaffected():
    app = TimeoutMiddleware(Starlette(routes=[Route("/slow", slow)]), seconds=0.3)

    async def requests():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            return await client.get("/slow", params={"seconds": 0.01}), await client.get("/slow", params={"seconds": 2})

    quick, late = asyncio.run(requests())
    assert quick.status_code == 200 and quick.json() == {"done": True}
    assert late.status_code == 504
    assert "longer than the limit of 0.3 s" in late.json()["error"]


def test_rate_limit_per_key_on_a_live_server(tmp_path):
    data = tmp_path / "data"
    store = KeyStore(data)
    first, second = store.create("busy", "viewer")[1], store.create("calm", "viewer")[1]
    store.close()
    env = {"CATALOG_RATE_LIMIT_PER_SECOND": "2", "CATALOG_RATE_LIMIT_BURST": "3"}
    with ServerProcess(data, auth=True, env=env) as server:
        def get(token):
            return httpx.get(server.url + "/api/v1/policies", headers={"Authorization": f"Bearer {token}"})

        statuses = [get(first).status_code for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
        refused = get(first)
        assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
        assert "at most 2 requests per second per key" in refused.json()["error"]
        assert get(second).status_code == 200  # the other key is not slowed by the busy one
        assert all(httpx.get(server.url + "/health").status_code == 200 for _ in range(10))
        time.sleep(int(refused.headers["Retry-After"]))
        assert get(first).status_code == 200
        metrics = httpx.get(server.url + "/metrics").text
        assert 'route="/api/v1/policies",status="429"' in metrics
