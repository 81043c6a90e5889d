"""Mapping events to graph writes (ingestors/openlineage.py), checked on the whole third-party corpus."""

from ingestors.openlineage import GraphWrites, canonical_json, event_hash, map_event


def test_every_dataset_column_lineage_reads_from_feeds_the_output_in_dataset_lineage(valid_events):
    writes = GraphWrites()
    for _, event in valid_events:
        map_event(event, event_hash(canonical_json(event)), writes)
    dataset_of = {row["key"]: row["dataset"] for row in writes.rows["fields"]}
    derived = {(dataset_of[row["dst"]], dataset_of[row["src"]]) for row in writes.rows["derives_from"]}
    derived = {(source, output) for source, output in derived if source != output}
    feeds = {(row["src"], row["dst"]) for row in writes.rows["feeds"]}
    assert len(derived) > 10, "the corpus has column lineage across datasets"
    assert derived - feeds == set()
    # Without the implied inputs the check above fails: some outputs' column lineage names datasets the
    # events do not list.
    assert writes.rows["implied_consumes"]


def test_schema_field_tags_of_any_shape_map_to_tags_or_nothing():
    """No facet schema describes a field's ``tags``: names (Marquez) and tag objects count, anything else is
    left out instead of failing the event."""
    fields = [
        {"name": "email", "tags": ["PII", "", 7]},
        {"name": "phone", "tags": [{"key": "sensitivity", "value": "high", "source": "dpo"}]},
        {"name": "notes", "tags": [{"key": "kept", "value": {"nested": 1}, "source": ["x"]}, {"value": "no key"}]},
        {"name": "a", "tags": True},
        {"name": "b", "tags": "PII"},
        {"name": "c", "tags": {"key": "PII"}},
        {"name": "d", "tags": None},
    ]
    event = {"eventType": "COMPLETE", "eventTime": "2024-01-01T00:00:00Z", "producer": "p",
             "run": {"runId": "0190a8b4-6f0e-7d4c-8a2e-3c1d5e6f7a8b"}, "job": {"namespace": "n", "name": "j"},
             "outputs": [{"namespace": "n", "name": "t", "facets": {"schema": {"fields": fields}}}]}
    writes = map_event(event, event_hash(canonical_json(event)))
    tags = {(row["target"].rsplit(":", 1)[1], row["name"], row["value"], row["source"])
            for row in writes.rows["field_tags"]}
    assert tags == {("email", "PII", None, None), ("phone", "sensitivity", "high", "dpo"),
                    ("notes", "kept", None, None)}
    assert {row["name"] for row in writes.rows["fields"]} == {"email", "phone", "notes", "a", "b", "c", "d"}
