"""Anonymizing real files by policy: re-scanned outputs hold no personal data, runs stream, failures
leave nothing behind."""

from collections import Counter
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pv
import pyarrow.parquet as pq
import pytest

from policies.anonymize import AnonymizeError, anonymize_file, make_plan, read_columns
from policies.classify import scan
from policies.operators import Keyring, Vaults
from policies.policy import DatasetFacts
from policies.policy_files import parse_policy
from policies.sources import read_sample
from tests.files import write_columns_csv
from tests.policies.corpus import build

KEYS = {"CORPUS_KEY": "corpus-key-0123456789abcdef"}

EVERYTHING = """\
name: corpus
secrets: {k: {env: CORPUS_KEY}}
rules:
  - name: all-personal-data
    entities:
      EMAIL_ADDRESS: {operator: hash, key: k}
      PHONE_NUMBER: {operator: mask, keep_last: 2}
      PERSON: {operator: tokenize, key: k}
      IBAN_CODE: {operator: mask, keep_first: 4, keep_last: 0}
      CREDIT_CARD: {operator: mask, keep_last: 4}
      IP_ADDRESS: {operator: replace}
      MAC_ADDRESS: {operator: replace}
      LOCATION: {operator: generalize, keep_first: 2}
      "*": {operator: redact}
    columns:
      notes: {operator: anonymize_text}
      support_ticket: {operator: anonymize_text}
      clinical_notes: {operator: anonymize_text}
"""


def scanned(path: Path) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Entity types per column, and the findings that values (not just the column name) support."""
    result = scan(read_sample(str(path), 1000, None))
    entities = {c.column: [f.entity for f in c.findings] for c in result.columns}
    from_values = {c.column: [f"{f.entity} ({f.evidence}, {f.matched}/{f.sampled})" for f in c.findings
                              if f.evidence != "name"] for c in result.columns}
    return entities, {column: found for column, found in from_values.items() if found}


def run(policy_text: str, source: Path, target: Path, column_entities: dict, **kwargs) -> dict:
    policy = parse_policy(policy_text)
    plan = make_plan(policy, DatasetFacts("test", source.name), read_columns(source), column_entities)
    keyring = Keyring(policy.secrets, environ=KEYS)
    return anonymize_file(plan, source, target, keyring, Vaults(policy.vaults, keyring), **kwargs)


def test_rescanning_the_anonymized_corpus_finds_no_personal_values(tmp_path):
    corpus = build(seed=23)
    source = write_columns_csv(tmp_path / "corpus.csv", {name: values for name, values, _ in corpus})
    entities, before = scanned(source)
    assert {"email", "phone", "iban", "card_number", "ip_address", "ssn", "notes", "diagnosis"} <= set(before)
    result = run(EVERYTHING, source, tmp_path / "anonymized.csv", entities)
    assert result["rows"] == 200
    planned = {name: c["operator"] for name, c in result["columns"].items()}
    assert planned["email"] == "hash" and planned["notes"] == "anonymize_text" and planned["order_ref"] is None
    _, after = scanned(tmp_path / "anonymized.csv")
    assert after == {}, after
    # What the policy left alone is unchanged.
    out = pv.read_csv(tmp_path / "anonymized.csv", convert_options=pv.ConvertOptions(
        column_types={name: pa.string() for name, _, _ in corpus}))
    assert out["order_ref"].to_pylist() == next(v for n, v, _ in corpus if n == "order_ref")


def test_parquet_keeps_types_of_what_it_does_not_turn_into_text(tmp_path):
    source = tmp_path / "patients.parquet"
    pq.write_table(pa.table({
        "id": pa.array(range(1000), pa.int64()),
        "email": [f"p{i % 300}@clinic.example" for i in range(1000)],
        "birth_date": pa.array([date(1950 + i % 50, 1 + i % 12, 1 + i % 28) for i in range(1000)], pa.date32()),
        "zip": [f"{75000 + i % 20:05d}" for i in range(1000)],
    }), source, row_group_size=100)
    policy = EVERYTHING.replace("    columns:\n", "    columns:\n      birth_date: {operator: date_shift, key: k, "
                                                  "by: email}\n      zip: {operator: generalize, keep_first: 3}\n")
    result = run(policy, source, tmp_path / "out.parquet", {"email": ["EMAIL_ADDRESS"]}, batch_rows=128)
    out = pq.read_table(tmp_path / "out.parquet")
    assert result["rows"] == 1000 and out.num_rows == 1000
    assert out.schema.field("id").type == pa.int64() and out["id"].to_pylist() == list(range(1000))
    assert out.schema.field("birth_date").type == pa.date32()
    emails, births = out["email"].to_pylist(), out["birth_date"].to_pylist()
    originals = pq.read_table(source)["birth_date"].to_pylist()
    # One shift per person (by email), across batches of 128 rows.
    shifts = {}
    for e, b, o in zip(emails, births, originals):
        shifts.setdefault(e, set()).add((b - o).days)
    assert all(len(s) == 1 for s in shifts.values()) and len(shifts) == 300
    assert set(out["zip"].to_pylist()) == {"750**"}


def test_streams_in_batches_with_the_same_output_as_one_batch(tmp_path):
    rows = 20_000
    source = write_columns_csv(tmp_path / "big.csv", {
        "id": [str(i) for i in range(rows)], "email": [f"user{i % 997}@example.com" for i in range(rows)],
        "amount": [f"{i % 100}.5" for i in range(rows)]})
    entities = {"email": ["EMAIL_ADDRESS"], "id": [], "amount": []}
    small = run(EVERYTHING, source, tmp_path / "small.csv", entities, csv_block_bytes=16_384)
    whole = run(EVERYTHING, source, tmp_path / "whole.csv", entities)
    assert small["rows"] == whole["rows"] == rows
    assert (tmp_path / "small.csv").read_bytes() == (tmp_path / "whole.csv").read_bytes()
    hashed = pv.read_csv(tmp_path / "small.csv")["email"].to_pylist()
    assert len(set(hashed)) == 997 and hashed[0] == hashed[997]  # equal inputs, equal hashes across batches


K_POLICY = """\
name: k
rules:
  - name: quasi
    columns:
      zip: {operator: generalize, keep_first: ZIP_KEEP}
      birth: {operator: generalize, date: decade}
    k_anonymity: {quasi_identifiers: [zip, birth], k: 5, on_failure: ON_FAILURE}
"""


@pytest.mark.parametrize("keep, on_failure, ok", [(2, "fail", True), (4, "fail", False), (4, "warn", False)])
def test_k_anonymity_is_checked_on_the_output(tmp_path, keep, on_failure, ok):
    source = write_columns_csv(tmp_path / "people.csv", {
        "zip": [f"{75001 + (i * 7) % 40}" for i in range(400)],
        "birth": [f"{1940 + (i * 13) % 60}-05-01" for i in range(400)]})
    target = tmp_path / "out.csv"
    policy = K_POLICY.replace("ZIP_KEEP", str(keep)).replace("ON_FAILURE", on_failure)
    if not ok and on_failure == "fail":
        with pytest.raises(AnonymizeError, match="k-anonymity .* not met on zip, birth: smallest group has"):
            run(policy, source, target, {})
        assert sorted(p.name for p in tmp_path.iterdir()) == ["people.csv"]  # no output, no partial file
        return
    result = run(policy, source, target, {})
    [check] = result["kAnonymity"]
    out = pv.read_csv(target, convert_options=pv.ConvertOptions(column_types={"zip": pa.string()})).to_pylist()
    groups = Counter((r["zip"], r["birth"]) for r in out)
    assert check["ok"] is ok and check["groups"] == len(groups) and check["smallestGroup"] == min(groups.values())
    assert check["rowsInSmallGroups"] == sum(n for n in groups.values() if n < 5)


def test_plan_names_unprotected_columns_and_problems():
    policy = parse_policy(K_POLICY.replace("ZIP_KEEP", "2").replace("ON_FAILURE", "fail").replace(
        "    columns:\n", "    entities:\n      EMAIL_ADDRESS: {operator: redact}\n    columns:\n"))
    plan = make_plan(policy, DatasetFacts("shop", "customers"), ["zip", "email", "phone"],
                     {"email": ["EMAIL_ADDRESS"], "phone": ["PHONE_NUMBER"]})
    by_column = {c.column: c for c in plan.columns}
    assert by_column["email"].operator.operator == "redact" and by_column["email"].entity == "EMAIL_ADDRESS"
    assert [c.column for c in plan.unprotected] == ["phone"]
    assert plan.problems == ["rule 'quasi': k-anonymity quasi-identifiers not in the data: birth"]
    with pytest.raises(AnonymizeError, match="not in the data"):
        anonymize_file(plan, Path("in.csv"), Path("out.csv"), Keyring({}), Vaults({}, None))
