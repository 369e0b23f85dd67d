"""docker-compose.yml read as processes of this machine: every name that only means
something inside compose (hosts, volumes, secrets, published ports, the image's paths)
becomes a local one, and nothing else changes."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from crocevia.compose_plan import LocalPlaces, local_process, read_compose
from crocevia_common.serving import uvicorn_options

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = read_compose(ROOT / "docker-compose.yml")
PUBLISHED = {p: 40000 + i for i, p in enumerate(sorted(p for s in COMPOSE.services.values() for p in s.ports.values()))}


def places(tmp_path: Path) -> LocalPlaces:
    return LocalPlaces(
        root=ROOT,
        volumes=tmp_path / "volumes",
        secrets=tmp_path / "secrets",
        hosts={
            "nats": ["127.0.0.1:1001", "127.0.0.1:1002"],
            "postgres": ["127.0.0.1:5432"],
            "otel-collector": ["127.0.0.1:1003"],
        },
        published=PUBLISHED,
        services={n: p for n, s in COMPOSE.services.items() for p in s.ports.values()},
        database_urls={"audit": "postgresql+asyncpg://audit_x:audit@127.0.0.1:5432/audit_x"},
        variables={},
    )


def test_the_one_shot_services_are_those_others_wait_to_complete() -> None:
    assert COMPOSE.one_shots() == ["streams", "dev-key", "witness-config"]
    assert "audit" in COMPOSE.long_running() and "streams" not in COMPOSE.long_running()
    assert {"nats", "postgres", "otel-collector"} <= set(COMPOSE.others)


@pytest.mark.parametrize("name", sorted(COMPOSE.services))
def test_no_compose_only_name_is_left_in_a_local_process(name: str, tmp_path: Path) -> None:
    process = local_process(COMPOSE.services[name], places(tmp_path))
    settings = {k: v for k, v in process.environment.items() if k.startswith("CROCEVIA_")}
    shown = json.dumps([process.argv, settings])

    for compose_only in (
        "://nats:",
        "@postgres:",
        "otel-collector",
        "/run/secrets",
        '"/keys',
        '"/data',
        '"/app',
        "0.0.0.0",
    ):
        assert compose_only not in shown, compose_only
    assert "localhost:180" not in shown
    assert process.argv[0].startswith(str(Path(sys.executable).parent))


def test_a_service_keeps_its_settings_with_local_places(tmp_path: Path) -> None:
    audit = local_process(COMPOSE.services["audit"], places(tmp_path), index=1)
    env = audit.environment

    assert env["CROCEVIA_NATS_URL"] == "nats://127.0.0.1:1002"  # the second service, the second server
    assert env["CROCEVIA_NATS_USER"] == "audit"
    assert env["CROCEVIA_NATS_PASSWORD_FILE"] == str(tmp_path / "secrets/audit/nats-password")
    assert env["CROCEVIA_DATABASE_URL"] == "postgresql+asyncpg://audit_x:audit@127.0.0.1:5432/audit_x"
    assert env["CROCEVIA_AUDIT_SIGNING_KEY_FILE"] == str(tmp_path / "volumes/audit-data/keys/checkpoint-signing.key")
    assert env["CROCEVIA_AUDIT_SIGNING_KEY"] == ""  # ${CROCEVIA_AUDIT_SIGNING_KEY:-}
    assert env["CROCEVIA_AGENCIES_DIR"] == str(ROOT / "deploy/demo/agencies")
    assert env["CROCEVIA_OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://127.0.0.1:1003"
    assert json.loads(env["CROCEVIA_NODE_URLS"])["cpia2"] == f"http://127.0.0.1:{PUBLISHED[18003]}"
    assert audit.argv[-4:] == ["--host", "127.0.0.1", "--port", str(PUBLISHED[18001])]
    assert " ".join(uvicorn_options()) in " ".join(audit.argv)  # served as crocevia_common.serving says
    assert audit.port == PUBLISHED[18001]


def test_a_one_shot_command_writes_where_its_volume_is(tmp_path: Path) -> None:
    dev_key = local_process(COMPOSE.services["dev-key"], places(tmp_path))

    assert dev_key.argv[0] == sys.executable
    assert f"Path('{tmp_path / 'volumes/dev-keys/dev-jwt.key'}')" in dev_key.argv[-1]
    assert dev_key.port is None


def test_this_shells_crocevia_settings_do_not_leak_into_a_service(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("CROCEVIA_STREAM_REPLICAS", "3")

    process = local_process(COMPOSE.services["notifications"], places(tmp_path))

    assert "CROCEVIA_STREAM_REPLICAS" not in process.environment


def test_a_service_needs_what_it_depends_on_of_the_projects_image() -> None:
    needed = COMPOSE.with_dependencies(["audit"])

    # nats, postgres: infrastructure, not the image's
    assert needed == {"audit", "streams", "dev-key", "witness-config"}
    assert "dev-keys" in COMPOSE.named_volumes() and not any(v.startswith(".") for v in COMPOSE.named_volumes())


def test_a_witness_runs_on_its_own_volume_with_the_keys_the_one_shot_wrote(tmp_path: Path) -> None:
    witness = local_process(COMPOSE.services["witness-prefettura"], places(tmp_path))
    config = local_process(COMPOSE.services["witness-config"], places(tmp_path))

    volumes = tmp_path / "volumes"
    assert witness.environment["CROCEVIA_WITNESS_DATABASE_URL"] == (
        f"sqlite+aiosqlite:///{volumes / 'witness-prefettura-data' / 'witness.db'}"
    )
    assert witness.environment["CROCEVIA_WITNESS_KEY_FILE"] == str(volumes / "witness-keys" / "prefettura.key")
    assert f"--logs-file={volumes / 'witness-keys' / 'logs.json'}" in config.argv
    assert witness.port is not None and f"http://127.0.0.1:{witness.port}=" in " ".join(config.argv)
