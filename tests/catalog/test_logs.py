import json
import logging
import re
import sys
from pathlib import Path

from catalog.logs import JsonFormatter


def _line(record: logging.LogRecord) -> dict:
    text = JsonFormatter().format(record)
    assert "\n" not in text  # one object per line, whatever the message holds
    return json.loads(text)


def test_a_record_is_one_json_object_with_its_extra_fields():
    record = logging.makeLogRecord({"name": "catalog.access", "levelno": logging.INFO, "levelname": "INFO",
                                    "msg": "request %s", "args": ("done\nnext",), "created": 1_700_000_000.25,
                                    "msecs": 250.0, "status": 201, "path": Path("/api/v1/lineage")})
    entry = _line(record)
    assert entry == {"ts": "2023-11-14T22:13:20.250Z", "level": "info", "logger": "catalog.access",
                     "msg": "request done\nnext", "status": 201, "path": "/api/v1/lineage"}


def test_times_in_the_same_second_and_the_next_are_each_their_own():
    formatter = JsonFormatter()
    stamps = [json.loads(formatter.format(logging.makeLogRecord({"created": created, "msecs": msecs})))["ts"]
              for created, msecs in ((1_700_000_000.001, 1.0), (1_700_000_000.999, 999.0), (1_700_000_001.5, 500.0),
                                     (1_600_000_000.0, 0.0))]
    assert stamps == ["2023-11-14T22:13:20.001Z", "2023-11-14T22:13:20.999Z", "2023-11-14T22:13:21.500Z",
                      "2020-09-13T12:26:40.000Z"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", s) for s in stamps)


def test_an_exception_is_logged_with_its_traceback():
    try:
        raise ValueError("bad field")
    except ValueError:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": sys.exc_info()})
    entry = _line(record)
    assert entry["msg"] == "failed"
    assert "ValueError: bad field" in entry["exc"] and "Traceback" in entry["exc"]
