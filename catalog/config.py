"""Server settings: command-line flags override ``CATALOG_*`` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlparse, urlunparse

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ACKNOWLEDGE_MODES = ("graph", "log")  # when a posted event gets its 201: once in the graph, or once logged


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    data_dir: Path = Field(Path("catalog-data"), description="event log and embedded graph data")
    database_url: str | None = Field(None, description="postgresql://user:password@host:5432/db for the event log, "
                                     "governance log and API keys, shared by replicas; none = SQLite files in "
                                     "the data directory")
    graph_url: str | None = Field(None, description="neo4j://, bolt:// or falkordb://host:port; none = embedded")
    neo4j_user: str = Field("neo4j", description="Neo4j user (with a password; none = a server without auth)")
    neo4j_password: str | None = None
    neo4j_database: str | None = Field(None, description="Neo4j database name; none = the server's default")
    neo4j_retry_seconds: float = Field(5.0, description="how long a Neo4j transaction is retried on transient "
                                       "errors (deadlocks, leader switches) before the request gets a 503")
    kafka_bootstrap: str | None = Field(None, description="Kafka brokers (HOST:PORT[,...]) to consume OpenLineage "
                                        "events from; none = no Kafka ingestion")
    kafka_topic: str = Field("openlineage", description="the topic the producers' KafkaTransport writes to")
    kafka_group: str = Field("lineage-catalog", description="consumer group id; replicas in one group share the "
                             "topic's partitions")
    kafka_dead_letter_topic: str | None = Field(None, description="where refused messages go, with the reason in "
                                                "their headers; none = TOPIC.dead-letter")
    kafka_config: dict[str, str] = Field(default_factory=dict, description="more librdkafka properties for both "
                                         "clients, e.g. security.protocol, sasl.* (JSON in CATALOG_KAFKA_CONFIG)")
    retention_days: float | None = Field(None, gt=0, description="runs and dataset versions last seen longer ago "
                                         "than this leave the graph (each job's latest run and each dataset's "
                                         "current version stay), and raw events that old fold into the event "
                                         "log's snapshot; none = keep everything")
    audit_retention_days: float | None = Field(None, gt=0, description="audit runs finished longer ago than this "
                                               "leave the graph with their findings (the newest two stay); "
                                               "none = keep them all")
    retention_interval_seconds: float = Field(3600.0, gt=0, description="how often the projecting replica "
                                              "applies retention")
    workers: int = Field(1, ge=1, le=64, description="processes serving HTTP on the one port: the first holds "
                         "the data directory, the embedded engine and the projection; the others are replicas of it "
                         "on the same logs and graph")
    acknowledge: Literal[ACKNOWLEDGE_MODES] = Field(
        "graph", description="when a posted event gets its 201: 'graph' once it is in the event log and the graph "
        "(a client reads what it has just posted), 'log' once it is durable in the event log (the graph follows, "
        "at most 10,000 events behind; faster for many small posts)")
    host: str = "127.0.0.1"
    port: int = 5000
    max_body_bytes: int = Field(8 * 1024 * 1024, description="largest request body, after gunzip")
    max_batch_events: int = 1000
    max_lineage_depth: int = 25
    max_lineage_nodes: int = 5000
    log_level: str = "INFO"
    anonymizing_jobs: list[str] = Field(
        default_factory=list,
        description="job ids (globs, e.g. 'job:etl:*_pseudonymize') whose outputs hold no personal data of their "
        "inputs: classification propagation stops at them (JSON list in CATALOG_ANONYMIZING_JOBS)",
    )
    policies: list[Path] = Field(
        default_factory=list,
        description="policy files or folders of *.yaml loaded at start (JSON list in CATALOG_POLICIES)",
    )
    spacy_model: str | None = Field(
        None, description="an installed spaCy NER model for PERSON/LOCATION (e.g. en_core_web_sm); none = blank pipeline",
    )
    no_auth: bool = Field(False, description="local development only: no API keys, everyone is an admin "
                          "(refused unless the server binds a loopback address)")
    rate_limit_per_second: float = Field(500.0, description="requests per second per API key; 0 = no limit")
    rate_limit_burst: int = Field(1000, description="requests a key may send at once before the rate applies")
    request_timeout_seconds: float = Field(60.0, description="longest a request may take before a 504; 0 = none")


def redacted(url: str) -> str:
    """The URL without its password, for logs and messages."""
    parts = urlparse(url)
    if parts.password is None:
        return url
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunparse(parts._replace(netloc=netloc))
