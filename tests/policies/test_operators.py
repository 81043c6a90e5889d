"""Anonymization operators over Arrow columns, keys, and the token vault."""

import sqlite3
from datetime import date

import pyarrow as pa
import pytest

from policies import policy as model
from policies.operators import Keyring, OperatorError, Vaults, compile_operator
from policies.vault import Vault, VaultError

KEY_A = "a" * 32
KEY_B = "b" * 32
BATCH = pa.record_batch({
    "email": ["ann@example.com", "bob@example.org", None, "ann@example.com"],
    "dob": ["1985-03-12", "2001-12-31", None, "1985-03-12"],
    "visit": ["2024-01-10", "2024-01-20", "2024-02-01", "2024-03-05"],
    "patient": ["p1", "p2", "p1", "p1"],
    "zip": ["75011", "123", None, "75011"],
    "age": ["37", "5", None, "99"],
})


def run(op, column, key=KEY_A, vaults=None, entity=None, batch=BATCH, **rule):
    keyring = Keyring({"k": model.SecretRef(env="K")}, environ={"K": key})
    fn = compile_operator(op, entity, keyring, vaults or Vaults({}, keyring), rule_entities=rule or None)
    return fn(batch, column).to_pylist()


def test_keyed_hash_is_deterministic_per_key():
    op = model.Hash(operator="hash", key="k", length=32)
    first, again, other = run(op, "email"), run(op, "email"), run(op, "email", key=KEY_B)
    assert first == again and first[0] == first[3] and first[0] != first[1]
    assert first[2] is None and len(first[0]) == 32
    assert other[0] != first[0]


def test_tokens_are_deterministic_per_key_and_reversible_only_with_the_vault_key(tmp_path):
    secrets = {"k": model.SecretRef(env="K"), "v": model.SecretRef(env="V")}
    keyring = Keyring(secrets, environ={"K": KEY_A, "V": "vault-key-0123456789"})
    vaults = Vaults({"people": model.VaultSpec(path=str(tmp_path / "people.sqlite"), key="v")}, keyring)
    op = model.Tokenize(operator="tokenize", key="k", vault="people")
    tokens = compile_operator(op, None, keyring, vaults)(BATCH, "email").to_pylist()
    assert tokens[0] == tokens[3] and tokens[0].startswith("tok_") and len(tokens[0]) == 24
    assert tokens == run(model.Tokenize(operator="tokenize", key="k"), "email")
    assert tokens[0] != run(model.Tokenize(operator="tokenize", key="k"), "email", key=KEY_B)[0]
    vault = vaults.get("people")
    assert len(vault) == 2 and vault.reveal(tokens[1]) == "bob@example.org" and vault.reveal("tok_unknown") is None
    vaults.close()
    with pytest.raises(VaultError, match="the key does not open the vault"):
        Vault(tmp_path / "people.sqlite", b"another-key-0123456789")
    # Values are sealed to their token: a ciphertext moved to another token does not open.
    db = sqlite3.connect(tmp_path / "people.sqlite")
    with db:
        sealed = db.execute("SELECT sealed FROM tokens WHERE token = ?", (tokens[0],)).fetchone()[0]
        db.execute("UPDATE tokens SET sealed = ? WHERE token = ?", (sealed, tokens[1]))
    db.close()
    reopened = Vault(tmp_path / "people.sqlite", b"vault-key-0123456789")
    assert reopened.reveal(tokens[0]) == "ann@example.com"
    with pytest.raises(VaultError, match="does not decrypt"):
        reopened.reveal(tokens[1])
    reopened.close()


def test_mask_redact_replace():
    assert run(model.Mask(operator="mask", keep_last=4), "email") == [
        "***********.com", "***********.org", None, "***********.com"]
    assert run(model.Mask(operator="mask", keep_first=1, keep_last=1, char="#"), "zip") == [
        "7###1", "1#3", None, "7###1"]
    # No longer than what is kept: masked whole.
    assert run(model.Mask(operator="mask", keep_first=2, keep_last=2), "zip")[1] == "***"
    assert run(model.Redact(operator="redact"), "email") == [None] * 4
    assert run(model.Replace(operator="replace"), "email", entity="EMAIL_ADDRESS") == [
        "<EMAIL_ADDRESS>", "<EMAIL_ADDRESS>", None, "<EMAIL_ADDRESS>"]
    assert run(model.Replace(operator="replace", value="x"), "email")[:2] == ["x", "x"]


def test_generalize_dates_prefixes_and_numbers():
    assert run(model.Generalize(operator="generalize", date="year"), "dob") == ["1985", "2001", None, "1985"]
    assert run(model.Generalize(operator="generalize", date="month"), "dob")[0] == "1985-03"
    assert run(model.Generalize(operator="generalize", date="decade"), "dob")[:2] == ["1980s", "2000s"]
    assert run(model.Generalize(operator="generalize", keep_first=3), "zip") == ["750**", "***", None, "750**"]
    assert run(model.Generalize(operator="generalize", bucket=10), "age") == ["30-39", "0-9", None, "90-99"]
    with pytest.raises(OperatorError, match="needs numbers"):
        run(model.Generalize(operator="generalize", bucket=10), "email")


def test_date_shift_keeps_each_subjects_intervals():
    shifted = run(model.DateShift(operator="date_shift", key="k", max_days=30, by="patient"), "visit")
    original = [date.fromisoformat(v) for v in BATCH["visit"].to_pylist()]
    moved = [date.fromisoformat(v) for v in shifted]
    deltas = [(m - o).days for m, o in zip(moved, original)]
    assert all(abs(d) <= 30 for d in deltas)
    assert deltas[0] == deltas[2] == deltas[3]  # patient p1: one shift, intervals kept
    assert shifted == run(model.DateShift(operator="date_shift", key="k", max_days=30, by="patient"), "visit")
    typed = pa.record_batch({"d": pa.array([date(2020, 1, 1), None], pa.date32())})
    out = compile_operator(model.DateShift(operator="date_shift", key="k"), None,
                           Keyring({"k": model.SecretRef(env="K")}, environ={"K": KEY_A}), Vaults({}, None))(typed, "d")
    assert out.type == pa.date32() and out[1].as_py() is None and abs((out[0].as_py() - date(2020, 1, 1)).days) <= 30
    with pytest.raises(OperatorError, match="ISO dates"):
        run(model.DateShift(operator="date_shift", key="k"), "email")


def test_free_text_spans_get_the_rules_entity_operators():
    text = pa.record_batch({"note": ["Call me on +44 20 7946 0958 or write to jane.doe@example.com", "no pii here"]})
    out = run(model.AnonymizeText(operator="anonymize_text"), "note", batch=text,
              EMAIL_ADDRESS=model.Hash(operator="hash", key="k", length=16))
    assert "jane.doe@example.com" not in out[0] and "7946" not in out[0]
    assert "<PHONE_NUMBER>" in out[0]  # no operator for phones in the rule: the default placeholder
    assert run(model.Hash(operator="hash", key="k", length=16), "email", batch=pa.record_batch(
        {"email": ["jane.doe@example.com"]}))[0] in out[0]
    assert out[1] == "no pii here"


def test_keys_come_from_env_or_file_and_must_be_long_enough(tmp_path):
    (tmp_path / "key").write_text("from-a-file-0123456789\n")
    keyring = Keyring({"f": model.SecretRef(file=str(tmp_path / "key")), "e": model.SecretRef(env="MISSING"),
                       "s": model.SecretRef(env="SHORT")}, environ={"SHORT": "abc"})
    assert keyring.get("f") == b"from-a-file-0123456789"
    with pytest.raises(OperatorError, match="environment variable MISSING is not set"):
        keyring.get("e")
    with pytest.raises(OperatorError, match="at least 16"):
        keyring.get("s")
