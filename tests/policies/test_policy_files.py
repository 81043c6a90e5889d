"""Policy files: the sample loads, every kind of mistake is reported at its file, line and field."""

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from policies.policy import json_schema
from policies.policy_files import PolicyError, load_policy, parse_policy

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "policies" / "samples" / "food_delivery.yaml"

VALID = """\
name: test-policy
secrets:
  k: {env: TEST_KEY}
rules:
  - name: contact
    applies_to: {classifications: [contact]}
    entities:
      EMAIL_ADDRESS: {operator: hash, key: k}
"""


def test_sample_policy_loads_and_its_version_is_a_content_hash():
    policy = load_policy(SAMPLE)
    assert policy.name == "food-delivery-gdpr" and len(policy.rules) == 2
    # Same document as JSON (different formatting, key order): same version.
    reformatted = json.dumps(yaml.safe_load(SAMPLE.read_text()), sort_keys=True)
    assert parse_policy(reformatted).version == policy.version
    changed = parse_policy(VALID)
    assert changed.version != policy.version and len(changed.version) == 16


def test_published_json_schema_is_current_and_accepts_the_sample():
    committed = json.loads((ROOT / "docs" / "policy.schema.json").read_text())
    assert committed == json_schema(), "docs/policy.schema.json drifted: run `catalog policy schema > " \
                                       "docs/policy.schema.json`"
    jsonschema.validate(yaml.safe_load(SAMPLE.read_text()), committed)


@pytest.mark.parametrize("text, line, field, message", [
    (VALID.replace("{operator: hash, key: k}", "{operator: hashh, key: k}"), 8, "rules[0].entities.EMAIL_ADDRESS",
     "does not match any of the expected tags"),
    (VALID.replace("key: k}", "key: nope}"), 8, "rules[0].entities.EMAIL_ADDRESS.key", "no secret named 'nope'"),
    (VALID.replace("{env: TEST_KEY}", "{value: hunter2hunter2hunter2}"), 3, "secrets.k",
     "its value never goes in the policy"),
    (VALID.replace("EMAIL_ADDRESS:", "EMAIL:"), 8, "rules[0].entities.EMAIL", "unknown entity type 'EMAIL'"),
    (VALID.replace("[contact]", "[contact, pii]"), 6, "rules[0].applies_to.classifications[1]", "'pii' is not"),
    (VALID.replace("key: k}", "key: k, length: lots}"), 8, "rules[0].entities.EMAIL_ADDRESS.length",
     "valid integer"),
    (VALID.replace("    entities:", "    retention_days: -3\n    entities:"), 7, "rules[0].retention_days",
     "greater than or equal to 1"),
    (VALID.replace("  - name: contact\n", "  - description: no name\n"), 5, "rules[0].name", "Field required"),
    (VALID + "    columns:\n      zip: {operator: generalize, keep_first: 3, date: year}\n", 10,
     "rules[0].columns.zip", "exactly one of date, keep_first, bucket"),
    (VALID.replace("name: test-policy\n", "name: test-policy\nname: again\n"), 2, "name", "duplicate key"),
    (VALID.replace("    applies_to:", "   applies_to:"), 6, "", "not valid YAML"),
    ("", 1, "", "the file is empty"),
    (VALID + "  - name: contact\n", 9, "rules[1].name", "a rule named 'contact' comes earlier"),
])
def test_mistakes_are_reported_at_file_line_and_field(text, line, field, message):
    with pytest.raises(PolicyError) as caught:
        parse_policy(text, "gdpr.yaml")
    problems = caught.value.problems
    assert any(p[0] == line and p[2] == field and message in p[3] for p in problems), caught.value.lines()
    assert str(caught.value).startswith("gdpr.yaml:")


def test_validate_command_names_the_file_and_line(tmp_path):
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    good.write_text(VALID)
    bad.write_text(VALID.replace("key: k}", "key: nope}"))
    ok = subprocess.run([sys.executable, "-m", "catalog.cli", "policy", "validate", str(good)],
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "ok, policy test-policy" in ok.stdout
    failed = subprocess.run([sys.executable, "-m", "catalog.cli", "policy", "validate", str(tmp_path)],
                            capture_output=True, text=True, timeout=60)
    assert failed.returncode == 1
    assert f"{bad}:8:" in failed.stderr
    assert "rules[0].entities.EMAIL_ADDRESS.key: no secret named 'nope'" in failed.stderr
