"""Read OpenLineage events from a Kafka topic as a consumer group member.

A message's value is one event as JSON, as the OpenLineage clients' KafkaTransport sends it
(its key, e.g. ``run:<namespace>/<job>``, only chooses the partition). The caller's ``handle``
makes each batch durable and says which messages it refused; only then are the batch's
offsets committed, so a crash in between re-reads the batch (the event log keeps each event
once). Refused and unreadable messages go to a dead-letter topic with the reason in their
headers; their offsets are committed once that topic has them.

Delivery to the dead-letter topic is at least once: a crash after it and before the commit
sends the message there again.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import confluent_kafka
from confluent_kafka import KafkaError, TopicPartition

log = logging.getLogger("catalog.kafka")


@dataclass(frozen=True)
class KafkaMessage:
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    event: object | None  # the decoded value, or None with ``error`` set
    error: str | None = None


@dataclass(frozen=True)
class Rejection:
    reason: str
    errors: list[dict] = field(default_factory=list)  # [{"field": ..., "message": ...}]


# handle(messages that decoded) -> a Rejection or None (accepted) for each, in order. It raises when
# nothing could be made durable (the batch is then read again).
Handler = Callable[[list[KafkaMessage]], list[Rejection | None]]


@dataclass
class PartitionState:
    committed: int | None = None  # the next offset to read once restarted
    high: int | None = None  # the offset the next produced message will get
    lag: int | None = None


def check_client_config(bootstrap: str, client_config: dict[str, str]) -> None:
    """Raise ValueError naming the property librdkafka refuses (unknown name, bad value), before any start."""
    try:
        confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "config-check",
                                  **client_config}).close()
    except (confluent_kafka.KafkaException, TypeError, ValueError) as exc:
        raise ValueError(f"invalid Kafka client settings (CATALOG_KAFKA_CONFIG): {exc}") from None


class KafkaIngestor:
    """A consumer thread: poll a batch, hand it over, dead-letter what was refused, commit offsets."""

    def __init__(self, bootstrap: str, topic: str, group: str, handle: Handler, *,
                 dead_letter_topic: str | None = None, max_message_bytes: int = 8 * 1024 * 1024,
                 batch: int = 500, client_config: dict[str, str] | None = None):
        self.topic = topic
        self.group = group
        self.bootstrap = bootstrap
        self.dead_letter_topic = dead_letter_topic or f"{topic}.dead-letter"
        self.max_message_bytes = max_message_bytes
        self.batch = batch
        self.handle = handle
        # Reconnect within 2 s of a broker coming back (librdkafka backs off up to 10 s by default).
        common = {"bootstrap.servers": bootstrap, "client.id": "lineage-catalog", "reconnect.backoff.max.ms": 2000}
        self._consumer = confluent_kafka.Consumer({
            **common,
            "group.id": group,
            "enable.auto.commit": False,  # committed by hand, only after the events are durable
            "auto.offset.reset": "earliest",
            # A member that died holds its partitions until this passes (librdkafka's default is 45 s).
            "session.timeout.ms": 10_000,
            "allow.auto.create.topics": True,
            "topic.metadata.refresh.interval.ms": 10_000,
            "statistics.interval.ms": 1000,
            "stats_cb": self._on_stats,
            "error_cb": self._on_error,
            "on_commit": self._on_commit,
            **(client_config or {}),
        })
        # message.timeout.ms 0: a dead letter is retried until delivered (offsets wait for it).
        self._dead_letters = confluent_kafka.Producer({**common, "message.timeout.ms": 0, "linger.ms": 5,
                                                       **(client_config or {})})
        self._pending: dict[int, int] = {}  # partition -> next offset to commit
        self.partitions: dict[int, PartitionState] = {}
        self.brokers_up = False
        self.consumed = 0
        self.dead_lettered = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._consumer.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke,
                                 on_lost=self._on_lost)
        self._thread = threading.Thread(target=self._run, name="kafka-consumer", daemon=True)
        self._thread.start()
        log.info("consuming OpenLineage events from Kafka",
                 extra={"bootstrap": self.bootstrap, "topic": self.topic, "group": self.group})

    def stop(self) -> None:
        """Finish the batch in hand, commit it, leave the group."""
        self._stop.set()
        if self._thread:
            self._thread.join()
        try:
            # With no broker a commit waits for one: leave it (the next start reads those again, deduplicated).
            self._commit_pending(wait=self.brokers_up)
        finally:
            self._consumer.close()
            self._dead_letters.flush(5)

    def status(self) -> dict:
        partitions = [{"partition": p, "committed": s.committed, "high": s.high, "lag": s.lag}
                      for p, s in sorted(dict(self.partitions).items())]  # a copy: the consumer thread edits it
        return {"bootstrap": self.bootstrap, "topic": self.topic, "group": self.group,
                "deadLetterTopic": self.dead_letter_topic, "brokersUp": self.brokers_up,
                "consumed": self.consumed, "deadLettered": self.dead_lettered,
                # None until every assigned partition's lag is known (the stats come each second).
                "lag": None if any(p["lag"] is None for p in partitions) else sum(p["lag"] for p in partitions),
                "partitions": partitions,
                "lastError": self.last_error}

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._step()
            except Exception as exc:  # keep consuming; the batch is read again
                self.last_error = str(exc)[:500]
                log.exception("Kafka batch failed; reading it again")
                time.sleep(1)

    def _step(self) -> None:
        raw = self._consumer.consume(self.batch, 0.5)
        messages = []
        for message in raw:
            error = message.error()
            if error is None:
                messages.append(self._decode(message))
            elif not error.retriable() and error.code() != KafkaError._PARTITION_EOF:
                self.last_error = str(error)
                log.warning("Kafka consumer error", extra={"error": str(error)})
        if messages:
            try:
                refused = iter(self.handle([m for m in messages if m.error is None]))
                for message in messages:
                    rejection = Rejection(message.error) if message.error else next(refused)
                    if rejection:
                        self._dead_letter(message, rejection)  # BufferError when its queue is full
            except Exception:
                self._rewind(messages)  # nothing of the batch is committed: read it all again
                raise
            for message in messages:
                self._pending[message.partition] = max(self._pending.get(message.partition, 0), message.offset + 1)
            self.consumed += len(messages)
        self._commit_pending()

    def _decode(self, message) -> KafkaMessage:
        value = message.value()

        def unreadable(reason: str) -> KafkaMessage:
            return KafkaMessage(message.partition(), message.offset(), message.key(), value, None, reason)

        if value is None:
            return unreadable("empty message (no value)")
        if len(value) > self.max_message_bytes:
            return unreadable(f"message of {len(value)} bytes exceeds the limit of {self.max_message_bytes} bytes")
        try:
            event = json.loads(value)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return unreadable(f"invalid JSON: {exc}")
        return KafkaMessage(message.partition(), message.offset(), message.key(), value, event)

    def _dead_letter(self, message: KafkaMessage, rejection: Rejection) -> None:
        headers = [("catalog.reason", rejection.reason.encode()),
                   ("catalog.errors", json.dumps(rejection.errors).encode()),
                   ("catalog.source", f"{self.topic}/{message.partition}/{message.offset}".encode())]
        self._dead_letters.produce(self.dead_letter_topic, value=message.value, key=message.key, headers=headers)
        self.dead_lettered += 1
        log.warning("Kafka message dead-lettered", extra={
            "partition": message.partition, "offset": message.offset, "reason": rejection.reason[:300],
            "dead_letter_topic": self.dead_letter_topic})

    def _commit_pending(self, wait: bool = False) -> None:
        """Commit what is durable; dead letters must be delivered first. Asynchronous unless ``wait``: a
        commit waits for the group coordinator, and the consumer must go on polling (stats, health) while
        there is none. A failed commit is retried with the next batch (_on_commit); committed offsets only
        move forward, and events read again are deduplicated."""
        if not self._pending:
            return
        if self._dead_letters.flush(2) > 0:
            return  # the dead-letter topic does not have them yet
        offsets = [TopicPartition(self.topic, p, offset) for p, offset in self._pending.items()]
        self._pending.clear()
        try:
            self._consumer.commit(offsets=offsets, asynchronous=not wait)
        except confluent_kafka.KafkaException as exc:
            self._commit_failed(offsets, str(exc))
            return
        if wait:
            self._committed(offsets)

    def _on_commit(self, error, partitions) -> None:
        failed = [tp for tp in partitions if error or tp.error]
        if failed:
            self._commit_failed(failed, str(error or failed[0].error))
        self._committed([tp for tp in partitions if tp not in failed])

    def _commit_failed(self, offsets: list[TopicPartition], reason: str) -> None:
        for tp in offsets:
            if tp.partition in self.partitions and tp.offset >= 0:  # still ours: try again
                self._pending[tp.partition] = max(self._pending.get(tp.partition, 0), tp.offset)
        self.last_error = reason
        log.warning("Kafka offset commit failed; retrying with the next batch", extra={"error": reason})

    def _committed(self, offsets: list[TopicPartition]) -> None:
        for tp in offsets:
            state = self.partitions.get(tp.partition)
            if state is not None and tp.offset >= 0:
                state.committed = max(state.committed or 0, tp.offset)
        if offsets:
            self.last_error = None

    def _rewind(self, messages: list[KafkaMessage]) -> None:
        """Read a batch again: seek each partition back to its first offset in it."""
        first: dict[int, int] = {}
        for message in messages:
            first[message.partition] = min(first.get(message.partition, message.offset), message.offset)
        for partition, offset in first.items():
            self._consumer.seek(TopicPartition(self.topic, partition, offset))

    def _on_assign(self, consumer, partitions) -> None:
        for tp in partitions:
            self.partitions.setdefault(tp.partition, PartitionState())
        log.info("Kafka partitions assigned", extra={"partitions": [tp.partition for tp in partitions]})

    def _on_revoke(self, consumer, partitions) -> None:
        # Called inside consume(), between batches: everything read so far is durable. Wait, so the next
        # owner starts from here.
        self._commit_pending(wait=True)
        for tp in partitions:
            self.partitions.pop(tp.partition, None)
        log.info("Kafka partitions revoked", extra={"partitions": [tp.partition for tp in partitions]})

    def _on_lost(self, consumer, partitions) -> None:
        # Another member may own them already: committing now could move its offsets back.
        for tp in partitions:
            self._pending.pop(tp.partition, None)
            self.partitions.pop(tp.partition, None)
        log.warning("Kafka partitions lost", extra={"partitions": [tp.partition for tp in partitions]})

    def _on_error(self, error) -> None:
        self.last_error = str(error)
        if error.code() == KafkaError._ALL_BROKERS_DOWN:
            self._set_brokers_up(False)
        elif error.code() == KafkaError._TRANSPORT:  # each failed reconnect, every 2 s while they are down
            log.debug("Kafka connection failed", extra={"error": str(error)})
        else:
            log.warning("Kafka client error", extra={"error": str(error)})

    def _set_brokers_up(self, up: bool) -> None:
        if up != self.brokers_up:
            if up:
                log.info("Kafka brokers reachable", extra={"bootstrap": self.bootstrap})
            else:
                log.warning("no Kafka broker reachable; consuming resumes when one is",
                            extra={"bootstrap": self.bootstrap})
        self.brokers_up = up

    def _on_stats(self, stats_json: str) -> None:
        stats = json.loads(stats_json)
        self._set_brokers_up(any(b.get("state") == "UP" for b in stats.get("brokers", {}).values()
                                 if b.get("source") != "internal"))
        topic = stats.get("topics", {}).get(self.topic, {})
        for key, p in topic.get("partitions", {}).items():
            state = self.partitions.get(int(key))
            if state is None:  # not assigned here (or librdkafka's internal partition -1)
                continue
            state.high = p["hi_offset"] if p.get("hi_offset", -1) >= 0 else None
            committed = state.committed if state.committed is not None else p.get("committed_offset", -1)
            if committed is not None and committed >= 0:
                state.committed = committed
            if state.high is not None:
                state.lag = max(0, state.high - (state.committed if state.committed is not None
                                                  else max(p.get("lo_offset", 0), 0)))
