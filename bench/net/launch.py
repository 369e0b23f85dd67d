"""Starting the network as ``crocevia up`` does (``crocevia.devnet.Network``: NATS from the
wheel with its generated users, one process per service, the demo agencies), on free ports
and a temporary data directory, on SQLite or on fresh PostgreSQL databases."""

from __future__ import annotations

import asyncio
import json
import random
import shutil
import socket
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from sqlalchemy.engine import make_url

from crocevia.devnet import Network, NetworkConfig

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "deploy" / "demo"
DEFAULT_POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
T = TypeVar("T")
# Ports no benchmark may take: a system NATS, and the development network of `make up`.
RESERVED = {4222, 14222, *range(18000, 18021)}


class BenchNetwork(Network):
    """The network of ``crocevia up``, with settings added to some services' environment.

    The launcher has no option for a database server; this hook, and nothing else, is what
    the benchmark changes: ``CROCEVIA_DATABASE_URL`` per service for PostgreSQL, and the
    nodes' anchoring of their access logs, left for after the run."""

    def __init__(self, config: NetworkConfig, service_settings: Mapping[str, Mapping[str, str]]) -> None:
        super().__init__(config)
        self._service_settings = service_settings

    def service_env(self, name: str, port: int, extra: dict[str, str]) -> dict[str, str]:
        env = super().service_env(name, port, extra)
        env.update(self._service_settings.get(name, {}))
        return env

    def pids(self) -> dict[str, int]:
        """Each running process's id by name (``nats``, ``referrals-<agency>``, ...)."""
        return {p.name: p.pid for p in self.processes() if p.pid is not None}


@dataclass(frozen=True)
class Running:
    network: BenchNetwork
    urls: dict[str, Any]  # network.json
    agencies: list[str]
    key_file: Path
    database: str  # "sqlite" or "postgresql"
    database_version: str
    start_seconds: float  # from the launch until every service answered /readyz
    postgres: PostgresDatabases | None


def _free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_block(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports, away from the reserved ones
    and below the range the system hands out to clients."""
    for _ in range(500):
        base = random.randrange(20000, 32000 - count)
        ports = range(base, base + count)
        if not RESERVED.intersection(ports) and all(_free(p) for p in ports):
            return base
    raise RuntimeError(f"no block of {count} free ports")


def agency_folder(workdir: Path, agencies: list[str] | None) -> tuple[Path, Path]:
    """The agency files and staff directory to run: the demo's, or a copy of some of them."""
    if agencies is None:
        return DEMO / "agencies", DEMO / "staff"
    chosen, staff = workdir / "agencies", workdir / "staff"
    chosen.mkdir(parents=True)
    staff.mkdir(parents=True)
    for agency in agencies:
        shutil.copy(DEMO / "agencies" / f"{agency}.yaml", chosen)
        if (DEMO / "staff" / f"{agency}.yaml").exists():
            shutil.copy(DEMO / "staff" / f"{agency}.yaml", staff)
    return chosen, staff


@contextmanager
def fresh_database(kind: str, service: str, folder: Path, postgres_url: str) -> Iterator[str]:
    """The URL of an empty database for ``service``: a SQLite file in ``folder``, or a
    PostgreSQL database made on ``postgres_url`` and dropped afterwards (OSError when the
    server does not answer)."""
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{folder / f'{service}.db'}"
        return
    server = PostgresDatabases(postgres_url)
    try:
        settings, _version = server.create([service])
        yield settings[service]["CROCEVIA_DATABASE_URL"]
    finally:
        server.drop()


def on_each_database(
    service: str, folder: Path, postgres_url: str, measure: Callable[[str], T]
) -> Iterator[tuple[str, T | None]]:
    """``measure`` run on a fresh SQLite database, then a fresh PostgreSQL one, each by its
    kind's name; None for one that could not be made (no server answered)."""
    for kind in ("sqlite", "postgresql"):
        try:
            with fresh_database(kind, service, folder, postgres_url) as url:
                found = measure(url)
        except OSError:
            yield kind, None
            continue
        yield kind, found


class PostgresDatabases:
    """One fresh database per service on a PostgreSQL server, dropped afterwards."""

    def __init__(self, server_url: str) -> None:
        self.server = make_url(server_url).set(drivername="postgresql")
        self.tag = uuid.uuid4().hex[:8]
        self.names: list[str] = []
        self._watcher: Any = None  # an asyncpg connection

    def _dsn(self) -> str:
        return self.server.render_as_string(hide_password=False)

    async def _run(self, *statements: str) -> str:
        conn = await asyncpg.connect(self._dsn())
        try:
            for statement in statements:
                await conn.execute(statement)
            return str(await conn.fetchval("SHOW server_version"))
        finally:
            await conn.close()

    def create(self, services: list[str]) -> tuple[dict[str, dict[str, str]], str]:
        """The database setting of each service, and the server's version."""
        settings: dict[str, dict[str, str]] = {}
        for service in services:
            name = f"crocevia_bench_{self.tag}_{service.replace('-', '_')}"
            self.names.append(name)
            url = self.server.set(drivername="postgresql+asyncpg", database=name)
            settings[service] = {"CROCEVIA_DATABASE_URL": url.render_as_string(hide_password=False)}
        version = asyncio.run(self._run(*(f'CREATE DATABASE "{n}"' for n in self.names)))
        return settings, version

    async def watch(self) -> None:
        """Open the connection ``backends`` asks on, before the services take the server's
        connections (it keeps one of them for the whole run)."""
        self._watcher = await asyncpg.connect(self._dsn())

    async def backends(self) -> list[int]:
        """The process ids of the server's backends serving the services' databases (on this
        machine: their CPU is the services' database work); none once it cannot tell."""
        if self._watcher is None:
            return []
        try:
            rows = await self._watcher.fetch(
                "SELECT pid FROM pg_stat_activity WHERE datname = ANY($1::text[])", self.names
            )
        except (OSError, asyncpg.PostgresError):
            return []
        return [int(r["pid"]) for r in rows]

    async def unwatch(self) -> None:
        if self._watcher is not None:
            await self._watcher.close()
            self._watcher = None

    def drop(self) -> None:
        if self.names:
            asyncio.run(self._run(*(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)' for n in self.names)))
            self.names = []


@contextmanager
def running(
    database: str,
    workdir: Path,
    agencies: list[str] | None,
    postgres_url: str,
    progress: Callable[[str], None],
    common: Mapping[str, str] | None = None,
    own: Mapping[str, Mapping[str, str]] | None = None,
    network_class: type[BenchNetwork] = BenchNetwork,
) -> Iterator[Running]:
    """The network started in ``workdir`` and ready, stopped (and its databases dropped)
    afterwards; ``common``: settings added to every service's environment, ``own``: to one
    service's (by its name), over the rest."""
    agencies_dir, staff_dir = agency_folder(workdir, agencies)
    names = sorted(p.stem for p in agencies_dir.glob("*.yaml"))
    config = NetworkConfig(
        data_dir=workdir / "data",
        agencies_dir=agencies_dir,
        staff_dir=staff_dir,
        nats_port=free_block(1),
        base_port=free_block(len(names) + 2),
        ready_timeout=300.0,
        stop_timeout=20.0,
        progress=progress,
    )
    postgres = PostgresDatabases(postgres_url) if database == "postgresql" else None
    services = [*(f"referrals-{a}" for a in names), "notifications", "audit"]
    try:
        if postgres is not None:
            settings, version = postgres.create(services)
        else:
            settings, version = {}, sqlite3.sqlite_version
        settings = {
            name: {**(common or {}), **settings.get(name, {}), **(own or {}).get(name, {})} for name in services
        }
        # The trail is compared with the streams at one moment: no node anchors its access
        # log while the benchmark runs (``crocevia up`` anchors every 2 s).
        for agency in names:
            settings.setdefault(f"referrals-{agency}", {})["CROCEVIA_ACCESS_LOG_ANCHOR_SECONDS"] = "86400"
        network = network_class(config, settings)
        began = time.perf_counter()
        with network:
            started = time.perf_counter() - began
            urls = json.loads(network.network_file.read_text())  # what any outside client reads
            yield Running(network, urls, names, network.key_file, database, version, started, postgres)
    finally:
        if postgres is not None:
            postgres.drop()
