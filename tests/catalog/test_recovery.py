"""Durability: acknowledged events survive a SIGKILLed server and a killed graph engine."""

import os
import signal
import threading
import time
import uuid

import httpx

from tests.conftest import ServerProcess


def event(i: int, tag: str) -> dict:
    return {
        "eventType": "COMPLETE",
        "eventTime": "2024-01-01T00:00:00Z",
        "producer": "https://example.com/fault-test",
        "run": {"runId": str(uuid.uuid4())},
        "job": {"namespace": "faults", "name": f"job-{tag}-{i}"},
        "inputs": [{"namespace": "faults", "name": "source"}],
        "outputs": [{"namespace": "faults", "name": f"out-{tag}-{i}"}],
    }


def present(url: str, tag: str, i: int) -> bool:
    return httpx.get(f"{url}/api/v1/namespaces/faults/datasets/out-{tag}-{i}").status_code == 200


def send_until_stopped(url: str, tag: str, acked: list[int], sent: list[int], stop: threading.Event) -> None:
    with httpx.Client(timeout=5) as client:
        i = 0
        while not stop.is_set() and i < 5000:
            sent.append(i)
            try:
                if client.post(url + "/api/v1/lineage", json=event(i, tag)).status_code == 201:
                    acked.append(i)
            except httpx.HTTPError:
                return
            i += 1


def test_sigkill_during_ingestion_loses_no_acknowledged_event(tmp_path):
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    acked: dict[str, list[int]] = {f"t{n}": [] for n in range(3)}  # three concurrent clients
    sent, stop = [], threading.Event()
    senders = [threading.Thread(target=send_until_stopped, args=(server.url, tag, acks, sent, stop))
               for tag, acks in acked.items()]
    for thread in senders:
        thread.start()
    deadline = time.monotonic() + 30
    while sum(map(len, acked.values())) < 150 and time.monotonic() < deadline:
        time.sleep(0.01)
    server.stop(signal.SIGKILL)  # mid-ingestion: the senders are still posting
    stop.set()
    for thread in senders:
        thread.join()
    all_acked = {(tag, i) for tag, acks in acked.items() for i in acks}
    assert len(all_acked) >= 150

    with ServerProcess(data) as restarted:
        missing = [(tag, i) for tag, i in sorted(all_acked) if not present(restarted.url, tag, i)]
        health = httpx.get(restarted.url + "/health").json()
    print(f"sent {len(sent)}, acknowledged {len(all_acked)}, in the log after restart "
          f"{health['eventLog']['events']}, missing {len(missing)}")
    assert missing == []
    assert health["eventLog"]["events"] >= len(all_acked)


def test_engine_killed_mid_ingestion_is_restarted_and_caught_up(tmp_path):
    with ServerProcess(tmp_path / "data") as server:
        engine_pid = httpx.get(server.url + "/health").json()["graph"]["pid"]
        acked, sent, stop = [], [], threading.Event()
        sender = threading.Thread(target=send_until_stopped, args=(server.url, "e", acked, sent, stop))
        sender.start()
        while len(acked) < 50:
            time.sleep(0.01)
        os.kill(engine_pid, signal.SIGKILL)
        time.sleep(1.0)
        stop.set()
        sender.join()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            health = httpx.get(server.url + "/health").json()
            if health["graph"]["restarts"] >= 1 and health["status"] == "ok" and health["projection"]["lag"] == 0:
                break
            time.sleep(0.2)
        assert health["graph"]["restarts"] >= 1 and health["graph"]["pid"] != engine_pid
        missing = [i for i in acked if not present(server.url, "e", i)]
        print(f"sent {len(sent)}, acknowledged {len(acked)}, missing after engine restart {len(missing)}")
        assert missing == []
