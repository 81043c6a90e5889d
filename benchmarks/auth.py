"""What authentication costs per request: the same server setup with API keys and with --no-auth.

Two ``catalog serve`` processes on fresh data directories, one with authentication (a viewer
and a producer key) and one with --no-auth, measured alternately in each repeat:

* reads: sequential GET /api/v1/policies (a cheap route, so the auth share shows);
* single posts: sequential POST /api/v1/lineage of new events (key lookup + namespace check).

    python benchmarks/auth.py [--requests 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalog.keys import KeyStore  # noqa: E402
from tests.conftest import ServerProcess  # noqa: E402


def event() -> dict:
    name = uuid.uuid4().hex[:10]
    return {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "https://example.com/bench",
            "run": {"runId": str(uuid.uuid4())}, "job": {"namespace": "bench", "name": f"job_{name}"},
            "inputs": [{"namespace": "bench", "name": "source"}], "outputs": [{"namespace": "bench", "name": name}]}


def rate(url: str, key: str | None, requests: int, write: bool) -> float:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
        start = time.perf_counter()
        for _ in range(requests):
            response = client.post("/api/v1/lineage", json=event()) if write else client.get("/api/v1/policies")
            assert response.status_code in (200, 201), response.text
        return requests / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        keys = KeyStore(Path(tmp) / "auth")
        viewer, producer = keys.create("bench", "viewer")[1], keys.create("bench", "producer")[1]
        keys.close()
        results = {name: [] for name in ("read open", "read auth", "post open", "post auth")}
        with ServerProcess(Path(tmp) / "open") as open_server, ServerProcess(Path(tmp) / "auth", auth=True) as secured:
            for _ in range(args.repeats):
                results["read open"].append(rate(open_server.url, None, args.requests, False))
                results["read auth"].append(rate(secured.url, viewer, args.requests, False))
                results["post open"].append(rate(open_server.url, None, args.requests, True))
                results["post auth"].append(rate(secured.url, producer, args.requests, True))
    medians = {name: statistics.median(runs) for name, runs in results.items()}
    for name, runs in results.items():
        print(f"{name:10s} median {medians[name]:8.0f} req/s   runs {' / '.join(f'{r:.0f}' for r in runs)}")
    print(f"auth/open: reads {medians['read auth'] / medians['read open']:.2f}x, "
          f"posts {medians['post auth'] / medians['post open']:.2f}x")


if __name__ == "__main__":
    main()
