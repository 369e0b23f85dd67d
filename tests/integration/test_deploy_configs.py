"""The deployment files: every nats-server configuration is valid for the binary the tests
run (with the password variables set), and docker compose runs NATS closed, its streams
created by the operator, each service as its own NATS user."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from crocevia.nats_accounts import password_users, password_variable
from crocevia.registry import load_registry
from tests.kit.nats import nats_server_binary

ROOT = Path(__file__).resolve().parents[2]
NATS_CONFIGS = ["deploy/nats/compose.conf", *(f"deploy/nats/cluster/{n}.conf" for n in ("n1", "n2", "n3"))]


def nats_server_version() -> str:
    done = subprocess.run([nats_server_binary(), "--version"], capture_output=True, text=True, check=True)
    found = re.search(r"v(\d+\.\d+\.\d+)", done.stdout)
    assert found, done.stdout
    return found.group(1)


def password_environment() -> dict[str, str]:
    users = password_users(load_registry(ROOT / "deploy/demo/agencies"))
    return {password_variable(user): f"pw-{user}" for user in users}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.mark.parametrize("config", NATS_CONFIGS)
def test_the_nats_configurations_are_valid(config: str) -> None:
    env = {
        **os.environ,
        **password_environment(),
        "CROCEVIA_NATS_ROUTE_PASSWORD": "route-pw",
        "CROCEVIA_NATS_ROUTES": "[nats-route://route:route-pw@n1:6222]",
    }

    done = subprocess.run(
        [nats_server_binary(), "-t", "-c", str(ROOT / config)], capture_output=True, text=True, env=env
    )

    assert done.returncode == 0, done.stderr
    assert re.search(r"^include \.\.?/accounts\.conf$", (ROOT / config).read_text(), re.M)


def test_a_nats_configuration_without_a_password_is_refused() -> None:
    env = {**os.environ, **password_environment()}
    del env[password_variable("cpia2")]

    done = subprocess.run([nats_server_binary(), "-t", "-c", str(ROOT / "deploy/nats/compose.conf")], env=env)

    assert done.returncode != 0


def test_compose_runs_the_nats_version_the_tests_run_with_the_generated_users(compose: dict) -> None:
    nats = compose["services"]["nats"]

    assert nats["image"] == f"nats:{nats_server_version()}"
    assert nats["command"] == ["-c", "/etc/nats/crocevia/compose.conf"]
    assert "./deploy/nats:/etc/nats/crocevia:ro" in nats["volumes"]
    assert nats["env_file"] == ".env"


def test_compose_creates_the_streams_as_the_operator_before_any_service(compose: dict) -> None:
    services = compose["services"]
    streams = services["streams"]

    assert streams["command"] == ["crocevia", "streams"]
    assert streams["environment"]["CROCEVIA_NATS_USER"] == "admin"
    assert streams["secrets"][0]["source"] == "nats-admin"
    for name, service in services.items():
        if "uvicorn" in service.get("command", []):
            assert service["depends_on"]["streams"] == {"condition": "service_completed_successfully"}, name


def test_each_compose_service_connects_as_its_own_nats_user_with_its_secret(compose: dict) -> None:
    services = compose["services"]
    users = {}
    for name, service in services.items():
        if "uvicorn" not in service.get("command", []):
            continue
        env = service["environment"]
        user = env["CROCEVIA_NATS_USER"]
        users[name] = user
        assert env["CROCEVIA_NATS_URL"] == "nats://nats:4222"
        (secret,) = service["secrets"]
        assert secret["source"] == f"nats-{user}", name
        assert env["CROCEVIA_NATS_PASSWORD_FILE"] == f"/run/secrets/{secret['target']}"
        if "CROCEVIA_AGENCY_ID" in env:
            assert user == env["CROCEVIA_AGENCY_ID"]

    agencies = load_registry(ROOT / "deploy/demo/agencies")
    assert users == {f"referrals-{a}": a for a in agencies} | {"notifications": "notifications", "audit": "audit"}
    for user in [*users.values(), "admin"]:
        assert compose["secrets"][f"nats-{user}"] == {"environment": password_variable(user)}


def test_no_nats_password_is_written_in_compose_and_env_files_stay_out_of_git_and_images(compose: dict) -> None:
    for name, service in compose["services"].items():
        env = service.get("environment", {})
        assert not [k for k in env if k.startswith("CROCEVIA_NATS_PASSWORD") and k != "CROCEVIA_NATS_PASSWORD_FILE"]
        assert "@" not in env.get("CROCEVIA_NATS_URL", ""), name

    assert ".env" in (ROOT / ".gitignore").read_text().split()
    assert ".env" in (ROOT / ".dockerignore").read_text().split()
