"""API keys: hashed at rest, roles, namespace globs, revocation, and the `catalog keys` CLI."""

import json
import sqlite3
import subprocess
import sys

import pytest

from catalog.govlog import GOVERNANCE_FILE, GovernanceLog
from catalog.keys import KEYS_FILE, PERMISSIONS, ROLES, ApiKeyError, KeyStore, namespace_allowed


@pytest.fixture
def keys(tmp_path):
    store = KeyStore(tmp_path)
    yield store
    store.close()


def test_a_created_key_authenticates_and_only_its_hash_is_stored(keys, tmp_path):
    key, token = keys.create("airflow", "producer", ("food_delivery",))
    assert keys.authenticate(token) == key
    raw = (tmp_path / KEYS_FILE).read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob(KEYS_FILE + "-*"))
    assert token.encode() not in raw and token.split("_", 2)[2].encode() not in raw
    stored = sqlite3.connect(tmp_path / KEYS_FILE).execute("SELECT digest FROM keys").fetchone()[0]
    assert len(stored) == 64 and stored != token


@pytest.mark.parametrize("forged", ["", "not-a-key", "lc_000000000000_" + "A" * 43, "Bearer x"])
def test_malformed_and_unknown_tokens_are_refused(keys, forged):
    keys.create("viewer", "viewer")
    assert keys.authenticate(forged) is None


def test_a_wrong_secret_for_a_real_id_is_refused(keys):
    key, token = keys.create("viewer", "viewer")
    wrong = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert keys.authenticate(wrong) is None


def test_revocation_takes_effect_for_another_open_store(keys, tmp_path):
    key, token = keys.create("dpo", "compliance_officer")
    server_side = KeyStore(tmp_path)  # the server's own connection
    assert server_side.authenticate(token) is not None
    revoked = keys.revoke(key.id)
    assert revoked.revoked_at is not None
    assert server_side.authenticate(token) is None
    assert keys.revoke(key.id).revoked_at == revoked.revoked_at  # revoking again keeps the first time
    server_side.close()


def test_bad_requests_name_the_problem(keys):
    with pytest.raises(ApiKeyError, match="unknown role 'owner'"):
        keys.create("x", "owner")
    with pytest.raises(ApiKeyError, match="producers only"):
        keys.create("x", "viewer", ("food_delivery",))
    with pytest.raises(ApiKeyError, match="no key with id"):
        keys.revoke("nope")
    assert keys.list() == []


def test_roles_grant_what_the_design_says():
    from tests.catalog.api.test_auth_http import GRANTS

    assert ROLES == GRANTS
    assert ROLES["admin"] == frozenset(PERMISSIONS)


def test_namespace_globs():
    assert namespace_allowed((), "anything")
    assert namespace_allowed(("postgres://prod-*", "food_delivery"), "postgres://prod-db:5432")
    assert namespace_allowed(("postgres://prod-*", "food_delivery"), "food_delivery")
    assert not namespace_allowed(("postgres://prod-*", "food_delivery"), "food_delivery_staging")
    assert not namespace_allowed(("food_delivery",), "FOOD_DELIVERY")


def catalog(*args, data_dir):
    return subprocess.run([sys.executable, "-m", "catalog.cli", "keys", *args, "--data-dir", str(data_dir)],
                          capture_output=True, text=True)


def test_keys_cli_creates_lists_and_revokes_with_a_governance_record(tmp_path):
    created = catalog("create", "airflow-prod", "--role", "producer", "--namespace", "food_delivery",
                      data_dir=tmp_path)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("lc_") and "\n" not in token
    key_id = token.split("_")[1]
    assert f"created key {key_id} (airflow-prod): producer for namespaces food_delivery" in created.stderr

    listed = json.loads(catalog("list", "--format", "json", data_dir=tmp_path).stdout)
    assert [(k["id"], k["name"], k["role"], k["namespaces"], k["revokedAt"]) for k in listed] == \
        [(key_id, "airflow-prod", "producer", ["food_delivery"], None)]
    table = catalog("list", data_dir=tmp_path).stdout
    assert key_id in table and token not in table

    revoked = catalog("revoke", key_id, data_dir=tmp_path)
    assert revoked.returncode == 0 and f"revoked key {key_id}" in revoked.stdout
    assert catalog("revoke", "ffffffffffff", data_dir=tmp_path).returncode == 1
    bad_role = catalog("create", "x", "--role", "owner", data_dir=tmp_path)
    assert bad_role.returncode == 2 and "owner" in bad_role.stderr

    log = GovernanceLog(tmp_path / GOVERNANCE_FILE)
    entries = [(c["action"], c["nodeId"], c["detail"]["role"]) for c in log.all()]
    assert entries == [("key_created", f"apikey:{key_id}", "producer"), ("key_revoked", f"apikey:{key_id}", "producer")]
    assert all(c["actor"].startswith("cli:") for c in log.all())
    assert token not in (tmp_path / GOVERNANCE_FILE).read_bytes().decode(errors="replace")
    assert log.verify() == (True, None)
    log.close()
