"""Settings as deployments give them: docker-compose.yml (which no test can run here: no Docker engine)."""

from pathlib import Path

import click
import pytest
import yaml

from catalog.config import Settings, redacted
from catalog.logs_cli import settings_for

REPO = Path(__file__).resolve().parents[2]


def test_every_catalog_variable_in_docker_compose_is_a_setting_with_a_valid_value(monkeypatch):
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    replicas = {name: spec for name, spec in services.items() if "CATALOG_DATABASE_URL" in spec.get("environment", {})}
    assert len(replicas) >= 2
    for name, spec in replicas.items():
        variables = {key: str(value) for key, value in spec["environment"].items() if key.startswith("CATALOG_")}
        unknown = {key for key in variables if key.removeprefix("CATALOG_").lower() not in Settings.model_fields}
        assert not unknown, f"{name}: {unknown} are not settings"
        for key, value in variables.items():
            # ${VAR:-default} as compose fills it in when VAR is unset
            monkeypatch.setenv(key, value.split(":-", 1)[1].rstrip("}") if value.startswith("${") else value)
        settings = Settings()
        assert settings.database_url.startswith("postgresql://") and settings.graph_url.startswith("neo4j://")
        assert settings.retention_days == 90


def test_passwords_are_left_out_of_urls_shown():
    assert redacted("postgresql://u:secret@db:5432/c") == "postgresql://u:***@db:5432/c"
    assert redacted("postgresql://u@db/c") == "postgresql://u@db/c"
    assert redacted("neo4j://neo4j:pw@graph:7687") == "neo4j://neo4j:***@graph:7687"


def test_the_acknowledge_mode_comes_from_its_variable_and_an_unknown_one_is_named(monkeypatch):
    monkeypatch.setenv("CATALOG_ACKNOWLEDGE", "log")
    assert settings_for().acknowledge == "log"
    assert settings_for(acknowledge="graph").acknowledge == "graph"  # the flag wins
    monkeypatch.setenv("CATALOG_ACKNOWLEDGE", "never")
    with pytest.raises(click.UsageError, match=r"acknowledge \(CATALOG_ACKNOWLEDGE\): Input should be 'graph' or 'log'"):
        settings_for()
