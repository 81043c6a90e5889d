import copy

import pytest

from ingestors.validate import InvalidEvent, _quickly_valid, event_type, parse_event_time, validate_event

MINIMAL = {
    "eventType": "START",
    "eventTime": "2024-01-01T00:00:00Z",
    "producer": "https://example.com/producer",
    "schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent",
    "run": {"runId": "3f5e83fa-3480-44ff-99c5-ff943904e5e8"},
    "job": {"namespace": "ns", "name": "job"},
}


def test_every_valid_corpus_event_validates(valid_events):
    for source, event in valid_events:
        assert validate_event(event) in ("RunEvent", "DatasetEvent", "JobEvent"), source


def test_every_invalid_corpus_event_is_rejected_with_a_pointer(invalid_events):
    expected = {
        "event_invalid_dataset_facet.json[0]": "/outputs/0/facets/ownership/owners/0/name",
        "event_invalid_input_dataset_facet.json[0]": "/inputs/0/inputFacets/dataQualityMetrics/rowCount",
        "event_invalid_job_facet.json[0]": "/job/facets/ownership/owners/0/name",
        "event_invalid_output_dataset_facet.json[0]": "/outputs/0/outputFacets/outputStatistics/rowCount",
        "event_invalid_run_facet.json[0]": "/run/facets/parent/run/runId",
        "event_no_run_id.json[0]": "/run/runId",
    }
    assert sorted(source for source, _ in invalid_events) == sorted(expected)
    for source, event in invalid_events:
        with pytest.raises(InvalidEvent) as caught:
            validate_event(event)
        assert expected[source] in [e.pointer for e in caught.value.errors], (source, caught.value.errors)


@pytest.mark.parametrize("missing, pointer", [
    (("eventTime",), "/eventTime"),
    (("producer",), "/producer"),
    (("run", "runId"), "/run/runId"),
    (("job", "namespace"), "/job/namespace"),
    (("job", "name"), "/job/name"),
])
def test_missing_required_fields_are_named(missing, pointer):
    event = copy.deepcopy(MINIMAL)
    parent = event
    for key in missing[:-1]:
        parent = parent[key]
    del parent[missing[-1]]
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    assert [e.pointer for e in caught.value.errors] == [pointer]
    assert caught.value.errors[0].message == "is required"


def test_wrong_types_and_bad_times_are_reported():
    event = copy.deepcopy(MINIMAL)
    event["eventTime"] = "yesterday"
    event["inputs"] = [{"namespace": "ns", "name": 3}]
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    pointers = {e.pointer for e in caught.value.errors}
    assert pointers == {"/eventTime", "/inputs/0/name"}


def test_non_object_event_is_rejected():
    with pytest.raises(InvalidEvent, match="JSON object"):
        validate_event([MINIMAL])


def test_marquez_leniency_no_schema_url_is_a_run_event():
    event = copy.deepcopy(MINIMAL)
    del event["schemaURL"]
    assert validate_event(event) == "RunEvent"


def test_event_type_from_schema_url_fragment():
    assert event_type({"schemaURL": "https://openlineage.io/spec/1-0-1/OpenLineage.json#/definitions/JobEvent"}) == "JobEvent"
    assert event_type({"schemaURL": "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/DatasetEvent"}) == "DatasetEvent"
    assert event_type({}) == "RunEvent"


@pytest.mark.parametrize("text, expected", [
    ("2020-12-28T19:52:00.001+10:00", 1609149120001),
    ("2020-12-28T09:52:00.001Z", 1609149120001),
    ("2020-12-28T09:52:00.001", 1609149120001),  # no timezone: UTC
    ("2020-12-28T09:52:00.001123456Z", 1609149120001),  # nanoseconds
])
def test_parse_event_time(text, expected):
    assert parse_event_time(text) == expected


def test_custom_facets_need_only_the_base_facet_fields():
    event = copy.deepcopy(MINIMAL)
    base = {"_producer": "https://example.com", "_schemaURL": "https://example.com/MyFacet.json"}
    event["run"]["facets"] = {"myCustom": {**base, "anything": [1, 2]}}
    assert validate_event(event) == "RunEvent"
    event["run"]["facets"] = {"myCustom": {"anything": 1}}
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    assert {e.pointer for e in caught.value.errors} == {"/run/facets/myCustom/_producer",
                                                         "/run/facets/myCustom/_schemaURL"}


def test_fast_and_detailed_validators_agree_on_the_corpus(valid_events, invalid_events):
    for source, event in valid_events:
        assert _quickly_valid(event, event_type(event)), source
    for source, event in invalid_events:
        assert not _quickly_valid(event, event_type(event)), source


@pytest.mark.parametrize("mutate", [
    lambda e: e.pop("eventTime"),
    lambda e: e.update(eventTime="not a time"),
    lambda e: e["run"].update(runId=7),
    lambda e: e.update(inputs=[{"namespace": "n"}]),
    lambda e: e.update(outputs=[{"namespace": "n", "name": "o", "outputFacets": {"outputStatistics": {"rowCount": "x"}}}]),
    lambda e: e["job"].update(facets={"sql": {"_producer": "p", "_schemaURL": "s", "query": 1}}),
])
def test_fast_path_never_accepts_what_the_detailed_validator_rejects(mutate):
    event = copy.deepcopy(MINIMAL)
    mutate(event)
    assert not _quickly_valid(event, event_type(event))
    with pytest.raises(InvalidEvent):
        validate_event(event)


def test_facet_names_that_cannot_be_property_names_are_rejected():
    event = copy.deepcopy(MINIMAL)
    base = {"_producer": "https://example.com", "_schemaURL": "https://example.com/F.json"}
    event["job"]["facets"] = {"bad`name": base}
    with pytest.raises(InvalidEvent) as caught:
        validate_event(event)
    assert caught.value.errors[0].pointer == "/job/facets/bad`name"
