"""Bounded samples from real CSV, Parquet and SQLite files."""

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import sqlalchemy as sa

from policies.sources import SourceError, read_sample
from tests.files import write_csv


def test_small_csv_is_read_whole(tmp_path):
    path = tmp_path / "people.csv"
    path.write_text("id;email;note\n1;a@example.com;\n2;b@example.com;hello\n")
    sample = read_sample(str(path), 100)
    assert sample.columns == {"id": ["1", "2"], "email": ["a@example.com", "b@example.com"], "note": [None, "hello"]}


def test_small_csv_with_multibyte_text_is_read_once(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("name\n" + "".join(f"Jürgen Müller-Lüdenscheidt {i}\n" for i in range(300)), encoding="utf-8")
    sample = read_sample(str(path), 1000)
    assert sample.rows == 300 and len(set(sample.columns["name"])) == 300


def test_large_csv_is_sampled_from_all_over_the_file(tmp_path):
    path = write_csv(tmp_path / "big.csv", ["row", "value"], ([i, f"value {i}"] for i in range(200_000)))
    sample = read_sample(str(path), 400)
    rows = [int(r) for r in sample.columns["row"]]
    assert sample.rows == 400
    assert min(rows) < 20_000 and max(rows) > 180_000  # not just the head
    assert all(v == f"value {r}" for r, v in zip(rows, sample.columns["value"]))


def test_csv_with_fields_spanning_lines_falls_back_to_the_head(tmp_path):
    path = write_csv(tmp_path / "multiline.csv", ["id", "text"],
                     ([i, f"line one\nline two {i}"] for i in range(100_000)))
    sample = read_sample(str(path), 50)
    assert sample.columns["id"] == [str(i) for i in range(50)]
    assert sample.columns["text"][3] == "line one\nline two 3"


def test_parquet_is_sampled_across_row_groups(tmp_path):
    path = tmp_path / "events.parquet"
    table = pa.table({"n": list(range(100_000)), "email": [f"u{i}@example.com" for i in range(100_000)]})
    pq.write_table(table, path, row_group_size=5_000)
    sample = read_sample(str(path), 200)
    numbers = [int(n) for n in sample.columns["n"]]
    assert sample.rows == 200 and max(numbers) > 90_000
    assert all(e == f"u{n}@example.com" for n, e in zip(numbers, sample.columns["email"]))


def test_sqlite_table_through_sqlalchemy(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        connection.execute(sa.text("CREATE TABLE customers (id INTEGER, email TEXT, vip BOOLEAN)"))
        connection.execute(sa.text("INSERT INTO customers VALUES (:i, :e, :v)"),
                           [{"i": i, "e": f"c{i}@example.org", "v": i % 2} for i in range(50)])
    engine.dispose()
    sample = read_sample(url, 10, table="customers")
    assert sample.rows == 10 and set(sample.columns["email"]) <= {f"c{i}@example.org" for i in range(50)}
    with pytest.raises(SourceError, match="no table 'orders'"):
        read_sample(url, 10, table="orders")


@pytest.mark.parametrize("source, table, message", [
    ("missing.csv", None, "no such file"),
    ("sqlite:///x.db", None, "needs the table"),
])
def test_bad_sources_are_clear_errors(tmp_path, source, table, message):
    with pytest.raises(SourceError, match=message):
        read_sample(str(tmp_path / source) if "://" not in source else source, 10, table=table)


def test_unknown_file_type_is_refused(tmp_path):
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"PK")
    with pytest.raises(SourceError, match="unknown file type"):
        read_sample(str(path), 10)


def test_quoted_json_cells_never_shift_later_columns(tmp_path):
    # The regression: a dialect sniffed from the header alone split this JSON at its inner commas,
    # and every later column's values landed two columns to the left.
    path = tmp_path / "shop.csv"
    path.write_text('id,profile,email,religion,created_at\n' + "".join(
        f'{i},"{{""email"": ""u{i}@b.fr"", ""first_name"": ""Zoé"", ""tags"": [1, 2]}}",u{i}@b.fr,catholique,'
        f'2024-05-0{i % 9 + 1}T10:00:00\n' for i in range(50)), encoding="utf-8")
    sample = read_sample(str(path), 100)
    assert list(sample.columns) == ["id", "profile", "email", "religion", "created_at"]
    assert set(sample.columns["religion"]) == {"catholique"}
    assert sample.columns["profile"][3] == '{"email": "u3@b.fr", "first_name": "Zoé", "tags": [1, 2]}'


def test_quoted_newlines_and_delimiters_stay_in_their_field(tmp_path):
    path = write_csv(tmp_path / "notes.csv", ["id", "note", "city"],
                     ([i, f"Anruf; Rückruf,\nbitte {i}", "Köln"] for i in range(20)))
    sample = read_sample(str(path), 100)
    assert sample.columns["note"][5] == "Anruf; Rückruf,\nbitte 5" and set(sample.columns["city"]) == {"Köln"}


def test_semicolons_with_decimal_commas_bom_and_windows_1252(tmp_path):
    text = "Nachname;Betrag;Straße\n" + "".join(f"Müller;{i},50;Hauptstraße {i}\n" for i in range(30))
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        path = tmp_path / f"{encoding}.csv"
        path.write_bytes(text.encode(encoding))
        sample = read_sample(str(path), 100)
        assert list(sample.columns) == ["Nachname", "Betrag", "Straße"], encoding
        assert sample.columns["Betrag"][2] == "2,50" and sample.columns["Straße"][0] == "Hauptstraße 0", encoding


def test_a_row_that_does_not_fit_the_header_is_an_error_naming_its_line(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("id,email,city\n1,a@b.de,Berlin\n2,b@c.de,Paris,extra\n3,c@d.de,Rome\n")
    with pytest.raises(SourceError, match=r"line 3 has 4 fields, the header has 3"):
        read_sample(str(path), 100)
    rows = [f"{i},u{i}@b.de,Berlin\n" for i in range(100_000)]
    rows[70_000] = "70000,unquoted, comma,Berlin\n"
    big = tmp_path / "big_broken.csv"
    big.write_text("id,email,city\n" + "".join(rows))
    with pytest.raises(SourceError, match=r"the row at byte \d+ has 4 fields"):
        read_sample(str(big), 100_000)


def test_a_missing_sqlite_file_is_an_error_and_is_not_created(tmp_path):
    path = tmp_path / "missing.db"
    with pytest.raises(SourceError, match="no such SQLite file"):
        read_sample(f"sqlite:///{path}", 10, table="customers")
    assert not path.exists()
