"""Kafka ingestion: messages from ingestors.kafka through the same validation, event log and
projection as ``POST /api/v1/lineage``.

There is no API key on a Kafka message: whoever may write to the topic may write lineage
into any namespace (restrict the topic with the broker's ACLs).
"""

from __future__ import annotations

import asyncio
import logging

from catalog.config import Settings
from catalog.ingest import IngestPipeline, prepare_event
from ingestors.kafka import Handler, KafkaIngestor, KafkaMessage, Rejection
from ingestors.validate import InvalidEvent

log = logging.getLogger("catalog.kafka")


def pipeline_handler(pipeline: IngestPipeline, loop: asyncio.AbstractEventLoop, on_rejected=None) -> Handler:
    """Validate each message's event and submit the valid ones to ``pipeline`` (running on ``loop``);
    returns once they are in the event log."""

    def handle(messages: list[KafkaMessage]) -> list[Rejection | None]:
        outcomes: list[Rejection | None] = []
        prepared = []
        for message in messages:
            try:
                prepared.append(prepare_event(message.event))
                outcomes.append(None)
            except InvalidEvent as exc:
                outcomes.append(Rejection(f"event does not conform to the OpenLineage spec: {exc}",
                                          [e.as_dict() for e in exc.errors]))
                if on_rejected:
                    on_rejected()
            except Exception as exc:  # a bug on one message must not block its partition: dead-letter it
                log.exception("a Kafka message could not be prepared; dead-lettered",
                              extra={"partition": message.partition, "offset": message.offset})
                outcomes.append(Rejection(f"could not be ingested: {type(exc).__name__}: {exc}"[:1000]))
        asyncio.run_coroutine_threadsafe(pipeline.submit(prepared), loop).result()
        return outcomes

    return handle


def start_kafka(settings: Settings, pipeline: IngestPipeline, on_rejected=None) -> KafkaIngestor:
    """Join the consumer group and consume in a thread; call from the event loop the pipeline runs on."""
    ingestor = KafkaIngestor(
        settings.kafka_bootstrap, settings.kafka_topic, settings.kafka_group,
        pipeline_handler(pipeline, asyncio.get_running_loop(), on_rejected),
        dead_letter_topic=settings.kafka_dead_letter_topic, max_message_bytes=settings.max_body_bytes,
        client_config=settings.kafka_config)
    ingestor.start()
    return ingestor
