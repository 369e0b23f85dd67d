"""The test kit's fixtures, shared by every test: real NATS servers and real databases."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvloop

from crocevia_common.serving import LOOP
from tests.kit.databases import admin_url, fresh_postgres_database, postgres_required
from tests.kit.nats import NatsProcess, docker_answers, start_cluster
from tests.kit.services import Tokens

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, object]:
    """Every async test on the event loop the services are served on (``crocevia_common.serving``)."""
    assert LOOP == "uvloop"
    return {LOOP: uvloop.new_event_loop}


@pytest.fixture(scope="session")
def docker_available() -> bool:
    return docker_answers()


@pytest.fixture
def nats_process(tmp_path: Path) -> Iterator[NatsProcess]:
    """A fresh ``nats-server`` process with JetStream, on a free loopback port: for tests
    that stop and restart the server."""
    server = NatsProcess(workdir=tmp_path / "nats").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nats_server(request: pytest.FixtureRequest, docker_available: bool) -> Iterator[NatsProcess]:
    """A fresh NATS server with JetStream for one test: a container when a Docker engine
    answers, otherwise a ``nats-server`` process from the wheel."""
    if docker_available:  # pragma: no cover - depends on the machine
        from testcontainers.community.nats import NatsContainer

        with NatsContainer(image="nats:2.10", jetstream=True) as container:
            _host, port = container.nats_host_and_port()
            yield NatsProcess(workdir=Path(), port=int(port))
        return
    yield request.getfixturevalue("nats_process")


@pytest.fixture(scope="module")
def module_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NatsProcess]:
    """One ``nats-server`` for a whole test module (tests that share a service started once)."""
    server = NatsProcess(workdir=tmp_path_factory.mktemp("nats")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_tokens(tmp_path_factory: pytest.TempPathFactory) -> Tokens:
    return Tokens(tmp_path_factory.mktemp("keys") / "dev-jwt.key")


@pytest.fixture
def nats_url(nats_server: NatsProcess) -> str:
    return nats_server.url


@pytest.fixture
def nats_cluster(tmp_path: Path) -> Iterator[list[NatsProcess]]:
    """Three clustered NATS servers with JetStream, on free loopback ports."""
    nodes = start_cluster(tmp_path / "cluster")
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


@pytest.fixture(scope="session")
def postgres_server_url(docker_available: bool) -> Iterator[str | None]:
    url, reason = admin_url()
    if url is None and docker_available:  # pragma: no cover - depends on the machine
        from testcontainers.community.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver="asyncpg") as pg:
            yield pg.get_connection_url()
        return
    if url is None:
        if postgres_required():
            pytest.fail(f"REQUIRE_POSTGRES=1 but {reason}")
        yield None
        return
    yield url


@pytest.fixture
def own_database(postgres_server_url: str | None) -> Iterator[str]:
    """An empty PostgreSQL database of the test's own, dropped afterwards."""
    if postgres_server_url is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL); REQUIRE_POSTGRES=1 makes this fail")
    with fresh_postgres_database(postgres_server_url) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Storage tests run once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    server = request.getfixturevalue("postgres_server_url")
    if server is None:
        pytest.skip("PostgreSQL is not reachable (set TEST_DATABASE_URL); REQUIRE_POSTGRES=1 makes this fail")
    with fresh_postgres_database(server) as url:
        yield url


@pytest.fixture
def shared_dir() -> Path:
    """``../shared`` beside the repository (conformance vectors)."""
    path = Path(os.environ.get("CROCEVIA_SHARED_DIR", SHARED))
    if not path.exists():
        pytest.fail(f"shared test data not found at {path}")
    return path
