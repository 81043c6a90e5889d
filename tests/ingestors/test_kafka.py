"""The Kafka transport on a real broker: batches, offsets committed after the handler, dead letters, rebalances."""

from __future__ import annotations

import json
import os
import threading
import time

import confluent_kafka
import pytest
from confluent_kafka import TopicPartition

from ingestors.kafka import KafkaIngestor, KafkaMessage, Rejection
from tests.engines import create_topic


class Recorder:
    """A handler that keeps what it was given and refuses events marked {"bad": ...}."""

    def __init__(self, fail_first: int = 0):
        self.seen: list[KafkaMessage] = []
        self.fail_first = fail_first
        self.calls = 0
        self.lock = threading.Lock()

    def __call__(self, messages: list[KafkaMessage]) -> list[Rejection | None]:
        with self.lock:
            self.calls += 1
            if self.calls <= self.fail_first:
                raise RuntimeError("the event log is away")
            self.seen.extend(messages)
        return [Rejection("marked bad", [{"field": "/bad", "message": "is marked"}])
                if isinstance(m.event, dict) and "bad" in m.event else None for m in messages]

    def values(self) -> list[object]:
        with self.lock:
            return [m.event for m in self.seen]


def produce(bootstrap: str, topic: str, values: list[bytes | None], keys: list[bytes] | None = None) -> None:
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for index, value in enumerate(values):
        producer.produce(topic, value=value, key=keys[index] if keys else None)
    assert producer.flush(30) == 0


def wait_for(condition, timeout: float = 60, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def committed(bootstrap: str, topic: str, group: str, partitions: int) -> dict[int, int]:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        found = consumer.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=10)
    finally:
        consumer.close()
    return {tp.partition: tp.offset for tp in found}


def read_all(bootstrap: str, topic: str, count: int) -> list:
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": f"reader-{topic}",
                                         "auto.offset.reset": "earliest"})
    consumer.subscribe([topic])
    found = []
    deadline = time.monotonic() + 60
    try:
        while len(found) < count and time.monotonic() < deadline:
            found += [m for m in consumer.consume(count, 1.0) if m.error() is None]
    finally:
        consumer.close()
    return found


@pytest.fixture
def ingestors():
    started: list[KafkaIngestor] = []

    def start(*args, **kwargs) -> KafkaIngestor:
        ingestor = KafkaIngestor(*args, **kwargs)
        ingestor.start()
        started.append(ingestor)
        return ingestor

    yield start
    for ingestor in started:
        if ingestor._thread and ingestor._thread.is_alive():
            ingestor.stop()


def test_consumes_every_partition_and_commits_once_handled(kafka, ingestors):
    topic = create_topic(kafka, partitions=3)
    values = [json.dumps({"n": n}).encode() for n in range(60)]
    produce(kafka, topic, values, keys=[f"run:ns/job{n % 7}".encode() for n in range(60)])
    handler = Recorder()
    ingestor = ingestors(kafka, topic, "g-all", handler)
    wait_for(lambda: len(handler.seen) >= 60, what="60 messages handled")
    wait_for(lambda: ingestor.status()["lag"] == 0 and len(ingestor.status()["partitions"]) == 3
             and all(p["high"] is not None for p in ingestor.status()["partitions"]), what="lag 0 in the stats")
    status = ingestor.status()
    ingestor.stop()

    assert sorted(v["n"] for v in handler.values()) == list(range(60))
    assert {m.partition for m in handler.seen} == {0, 1, 2}
    offsets = committed(kafka, topic, "g-all", 3)
    assert sum(offsets.values()) == 60
    assert status["consumed"] == 60 and status["deadLettered"] == 0 and status["brokersUp"]
    assert {p["partition"]: p["committed"] for p in status["partitions"]} == offsets
    assert {p["partition"]: p["high"] for p in status["partitions"]} == offsets


def test_refused_and_unreadable_messages_go_to_the_dead_letter_topic_with_the_reason(kafka, ingestors):
    topic = create_topic(kafka)
    produce(kafka, topic, [b'{"good": 1}', b'{"bad": 1}', b"not json {", None, b'"\xff\xfe"', b"x" * 2000])
    handler = Recorder()
    ingestor = ingestors(kafka, topic, "g-dead", handler, max_message_bytes=1000)
    wait_for(lambda: ingestor.status()["consumed"] == 6, what="6 messages consumed")
    ingestor.stop()

    # Only decodable messages reach the handler; the refused one and the unreadable ones are dead letters.
    assert handler.values() == [{"good": 1}, {"bad": 1}]
    assert ingestor.status()["deadLettered"] == 5
    letters = read_all(kafka, f"{topic}.dead-letter", 5)
    reasons = {m.offset(): dict(m.headers()) for m in letters}
    assert len(letters) == 5
    by_source = {headers["catalog.source"].decode(): headers for headers in reasons.values()}
    assert set(by_source) == {f"{topic}/0/{offset}" for offset in (1, 2, 3, 4, 5)}
    assert by_source[f"{topic}/0/1"]["catalog.reason"] == b"marked bad"
    assert json.loads(by_source[f"{topic}/0/1"]["catalog.errors"]) == [{"field": "/bad", "message": "is marked"}]
    assert by_source[f"{topic}/0/2"]["catalog.reason"].startswith(b"invalid JSON")
    assert by_source[f"{topic}/0/3"]["catalog.reason"] == b"empty message (no value)"
    assert by_source[f"{topic}/0/4"]["catalog.reason"].startswith(b"invalid JSON")
    assert b"exceeds the limit of 1000 bytes" in by_source[f"{topic}/0/5"]["catalog.reason"]
    # The original message is kept as it was.
    assert {m.value() for m in letters} == {b'{"bad": 1}', b"not json {", None, b'"\xff\xfe"', b"x" * 2000}
    assert committed(kafka, topic, "g-dead", 1) == {0: 6}


def test_a_batch_the_handler_could_not_keep_is_read_again_and_not_committed_before(kafka, ingestors):
    topic = create_topic(kafka)
    produce(kafka, topic, [json.dumps({"n": n}).encode() for n in range(10)])
    handler = Recorder(fail_first=2)
    ingestor = ingestors(kafka, topic, "g-retry", handler)
    wait_for(lambda: len(handler.seen) >= 10, what="the batch handled after two failures")
    ingestor.stop()
    assert sorted(v["n"] for v in handler.values()) == list(range(10))
    assert handler.calls >= 3
    assert committed(kafka, topic, "g-retry", 1) == {0: 10}


def test_a_new_member_resumes_from_the_committed_offsets(kafka, ingestors):
    topic = create_topic(kafka)
    produce(kafka, topic, [json.dumps({"n": n}).encode() for n in range(10)])
    first = Recorder()
    ingestor = ingestors(kafka, topic, "g-resume", first)
    wait_for(lambda: len(first.seen) == 10, what="the first 10")
    ingestor.stop()
    produce(kafka, topic, [json.dumps({"n": n}).encode() for n in range(10, 15)])
    second = Recorder()
    ingestors(kafka, topic, "g-resume", second)
    wait_for(lambda: len(second.seen) == 5, what="the next 5")
    time.sleep(1)  # nothing else arrives
    assert [v["n"] for v in second.values()] == [10, 11, 12, 13, 14]


def test_partitions_reassigned_between_two_members_lose_nothing(kafka, ingestors):
    topic = create_topic(kafka, partitions=4)
    keys = [f"run:ns/job{n}".encode() for n in range(200)]
    produce(kafka, topic, [json.dumps({"n": n}).encode() for n in range(100)], keys[:100])
    one, two = Recorder(), Recorder()
    a = ingestors(kafka, topic, "g-share", one)
    wait_for(lambda: len(one.seen) >= 100, what="the first member to read everything")
    b = ingestors(kafka, topic, "g-share", two)
    wait_for(lambda: a.partitions and b.partitions and len(a.partitions) + len(b.partitions) == 4,
             what="the partitions shared by the two members")
    produce(kafka, topic, [json.dumps({"n": n}).encode() for n in range(100, 200)], keys[100:])
    wait_for(lambda: {v["n"] for v in one.values() + two.values()} >= set(range(200)), what="all 200 handled")
    assert two.seen, "the second member got partitions and read from them"
    b.stop()  # its partitions go back to the first member
    wait_for(lambda: len(a.partitions) == 4, what="the first member owning all partitions again")
    produce(kafka, topic, [json.dumps({"n": n}).encode() for n in range(200, 220)])
    wait_for(lambda: {v["n"] for v in one.values()} >= set(range(200, 220)), what="the last 20 handled")
    a.stop()
    assert sum(committed(kafka, topic, "g-share", 4).values()) == 220


def test_kafka_script_stops_on_sigterm_and_a_second_start_keeps_the_data(tmp_path):
    from tests.engines import KafkaProcess

    first = KafkaProcess(tmp_path / "kafka").start()
    topic = create_topic(first.url)
    produce(first.url, topic, [b"kept"])
    assert first.stop() == 0
    with pytest.raises(ProcessLookupError):  # nothing of it is left: the JVM stopped with the script
        os.killpg(first.proc.pid, 0)
    again = KafkaProcess(tmp_path / "kafka", first.port).start()
    try:
        assert [m.value() for m in read_all(again.url, topic, 1)] == [b"kept"]
    finally:
        again.stop()
