"""docker-compose.yml is a valid Compose file (the Compose Specification's own JSON Schema)
and runs the whole demo network: a node per agency file, each with its NATS user, its
password secret, its database and its published port."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from crocevia.nats_accounts import password_users, password_variable
from crocevia.nats_secrets import ensure_env_file
from crocevia.registry import load_registry

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "tests/kit/compose/compose-spec.json"
AGENCIES = list(load_registry(ROOT / "deploy/demo/agencies"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft7Validator:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_docker_compose_is_valid_for_the_compose_specification(compose: dict, validator) -> None:
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]

    assert errors == []


def test_the_schema_refuses_a_compose_file_with_a_misspelt_setting(compose: dict, validator) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["audit"]["depends_onn"] = broken["services"]["audit"].pop("depends_on")

    assert not validator.is_valid(broken)


def test_compose_runs_a_node_per_demo_agency_as_its_own_nats_user(compose: dict) -> None:
    services = compose["services"]
    for agency in AGENCIES:
        env = services[f"referrals-{agency}"]["environment"]
        assert env["CROCEVIA_AGENCY_ID"] == env["CROCEVIA_NATS_USER"] == agency
        assert env["CROCEVIA_AGENCY_FILE"] == f"/app/deploy/demo/agencies/{agency}.yaml"
        assert f"referrals-{agency}-data:/data" in services[f"referrals-{agency}"]["volumes"]
    nodes = {name for name, s in services.items() if "CROCEVIA_AGENCY_ID" in s.get("environment", {})}
    assert nodes == {f"referrals-{agency}" for agency in AGENCIES}


def test_every_compose_node_is_linked_at_its_published_port(compose: dict) -> None:
    services = compose["services"]
    published = [port.split(":")[1] for s in services.values() for port in s.get("ports", [])]
    node_urls = json.loads(compose["x-crocevia-env"]["CROCEVIA_NODE_URLS"])

    assert len(published) == len(set(published))
    assert sorted(node_urls) == sorted(AGENCIES)
    for agency, url in node_urls.items():
        assert services[f"referrals-{agency}"]["ports"] == [f"127.0.0.1:{url.rsplit(':', 1)[1]}:8000"]


def test_the_postgres_init_script_makes_the_database_and_role_of_every_compose_service(compose: dict) -> None:
    init = (ROOT / "deploy/postgres/init/01-databases.sql").read_text()
    urls = {
        name: s["environment"]["CROCEVIA_DATABASE_URL"]
        for name, s in compose["services"].items()
        if "CROCEVIA_DATABASE_URL" in s.get("environment", {})
    }

    assert {f"referrals-{a}" for a in AGENCIES} | {"notifications", "audit"} <= set(urls)
    for url in urls.values():
        found = re.fullmatch(r"postgresql\+asyncpg://(\w+):(\w+)@postgres:5432/(\w+)", url)
        assert found, url
        role, password, database = found.groups()
        assert f"CREATE ROLE {role} LOGIN PASSWORD '{password}';" in init
        assert f"CREATE DATABASE {database} OWNER {role};" in init
        assert f"REVOKE CONNECT ON DATABASE {database} FROM PUBLIC;" in init


def test_nats_passwords_and_the_accounts_file_cover_every_user_compose_names(compose: dict, tmp_path: Path) -> None:
    written = ensure_env_file(tmp_path / ".env", password_users(AGENCIES))
    accounts = set(re.findall(r"\$(CROCEVIA_NATS_PASSWORD_\w+)", (ROOT / "deploy/nats/accounts.conf").read_text()))
    named = {secret["environment"] for secret in compose["secrets"].values()}

    assert named <= set(written)
    assert accounts == set(written)
    assert {password_variable(agency) for agency in AGENCIES} <= named
