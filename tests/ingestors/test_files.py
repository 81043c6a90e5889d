import json

from ingestors.files import expand_paths, read_events


def test_reads_objects_arrays_jsonl_and_folders(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "one.json").write_text(json.dumps({"a": 1}))
    (tmp_path / "many.json").write_text(json.dumps([{"b": 1}, {"b": 2}]))
    (tmp_path / "sub" / "lines.jsonl").write_text('{"c": 1}\n\n{"c": 2}\nnot json\n')
    (tmp_path / "notes.txt").write_text("ignored")
    files = expand_paths([tmp_path])
    assert [f.name for f in files] == ["many.json", "one.json", "lines.jsonl"]
    items = [item for f in files for item in read_events(f)]
    assert [i.event for i in items if not i.error] == [{"b": 1}, {"b": 2}, {"a": 1}, {"c": 1}, {"c": 2}]
    [bad] = [i for i in items if i.error]
    assert bad.source.endswith("lines.jsonl:4") and "invalid JSON" in bad.error


def test_json_lines_under_a_json_name(tmp_path):
    path = tmp_path / "events.json"
    path.write_text('{"x": 1}\n{"x": 2}\n')
    assert [i.event for i in read_events(path)] == [{"x": 1}, {"x": 2}]


def test_unreadable_json_is_reported(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{nope")
    [item] = read_events(path)
    assert item.event is None and "invalid JSON" in item.error
