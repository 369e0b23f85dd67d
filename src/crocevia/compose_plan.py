"""What docker-compose.yml runs, read from the file itself and translated for this machine:
the same commands and settings, with compose's host names, volumes, secrets and published
ports replaced by local addresses, directories and files.

Only the services built from the project's image are run as processes; the others (NATS,
PostgreSQL, the collector) are infrastructure that the caller provides locally under the
host names the services use.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

IMAGE_ROOT = "/app"  # where deploy/Dockerfile puts the repository
SECRETS_ROOT = "/run/secrets"
_VARIABLE = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


class ComposeError(ValueError):
    """docker-compose.yml says something this translation cannot run."""


@dataclass(frozen=True, slots=True)
class DatabaseLogin:
    """A service's PostgreSQL role, password and database, as the compose file names them."""

    role: str
    password: str
    database: str


@dataclass(frozen=True, slots=True)
class ComposeService:
    name: str
    command: list[str]
    environment: dict[str, str]
    volumes: dict[str, str]  # path in the container -> a named volume, or ./a path of the repository
    secrets: dict[str, str]  # file name under /run/secrets -> the secret
    ports: dict[int, int]  # port in the container -> published port
    depends_on: dict[str, str]  # service -> condition

    @property
    def database(self) -> DatabaseLogin | None:
        url = self.environment.get("CROCEVIA_DATABASE_URL", "")
        if not url.startswith("postgresql"):
            return None
        parsed = make_url(url)
        if not (parsed.username and parsed.password and parsed.database):
            raise ComposeError(f"{self.name}: CROCEVIA_DATABASE_URL names no role, password or database")
        return DatabaseLogin(parsed.username, parsed.password, parsed.database)


@dataclass(frozen=True, slots=True)
class Compose:
    """The project's services of a compose file, in file order, and its secrets."""

    services: dict[str, ComposeService]
    secret_variables: dict[str, str]  # secret -> the environment variable holding it
    others: list[str] = field(default_factory=list)  # infrastructure, not run as processes

    def one_shots(self) -> list[str]:
        """Services that others wait to complete (``service_completed_successfully``)."""
        waited = {
            name
            for service in self.services.values()
            for name, condition in service.depends_on.items()
            if condition == "service_completed_successfully"
        }
        return [name for name in self.services if name in waited]

    def long_running(self) -> list[str]:
        return [name for name in self.services if name not in self.one_shots()]

    def with_dependencies(self, names: Iterable[str]) -> set[str]:
        """``names`` and every service of the project's image they depend on, transitively."""
        found: set[str] = set()
        pending = list(names)
        while pending:
            name = pending.pop()
            if name in self.services and name not in found:
                found.add(name)
                pending += self.services[name].depends_on
        return found

    def named_volumes(self) -> set[str]:
        """The volumes compose makes (not the repository's ``./`` folders)."""
        return {v for s in self.services.values() for v in s.volumes.values() if not v.startswith(".")}


def read_compose(path: Path, image_prefix: str = "crocevia:") -> Compose:
    """The services of ``path`` built from the project's image (``image_prefix``)."""
    document: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    services: dict[str, ComposeService] = {}
    others = []
    for name, spec in document["services"].items():
        if not str(spec.get("image", "")).startswith(image_prefix):
            others.append(name)
            continue
        services[name] = ComposeService(
            name=name,
            command=[str(part) for part in spec["command"]],
            environment={k: "" if v is None else str(v) for k, v in spec.get("environment", {}).items()},
            volumes=dict(_volume(entry) for entry in spec.get("volumes", [])),
            secrets={s.get("target", s["source"]): s["source"] for s in spec.get("secrets", [])},
            ports=dict(_port(entry) for entry in spec.get("ports", [])),
            depends_on=_depends_on(spec.get("depends_on", {})),
        )
    secrets = {name: spec["environment"] for name, spec in document.get("secrets", {}).items()}
    return Compose(services, secrets, others)


def _volume(entry: str) -> tuple[str, str]:
    source, target, *_mode = entry.split(":")
    return target, source


def _port(entry: str) -> tuple[int, int]:
    *_host, published, container = entry.split(":")
    return int(container), int(published)


def _depends_on(spec: list[str] | dict[str, dict[str, str]]) -> dict[str, str]:
    if isinstance(spec, list):
        return dict.fromkeys(spec, "service_started")
    return {name: condition.get("condition", "service_started") for name, condition in spec.items()}


@dataclass(frozen=True, slots=True)
class LocalPlaces:
    """Where compose's names live on this machine."""

    root: Path  # the repository: the image's /app and the file's ./paths
    volumes: Path  # a directory per named volume
    secrets: Path  # <service>/<file>: the secrets a service sees under /run/secrets
    # a host as services name it ("nats", or "localhost:18003") -> local "host:port"s (a cluster:
    # the n-th service connects to the n-th server, and learns the others from it)
    hosts: dict[str, list[str]]
    published: dict[int, int]  # published port -> the local port of that service
    services: dict[str, int]  # service -> its published port (others call it by its name)
    database_urls: dict[str, str]  # service -> its local PostgreSQL URL
    variables: dict[str, str]  # what compose interpolates ${VARIABLE} from


@dataclass(frozen=True, slots=True)
class LocalProcess:
    name: str
    argv: list[str]
    environment: dict[str, str]
    port: int | None  # where it serves HTTP, if it does


def local_process(service: ComposeService, places: LocalPlaces, index: int = 0) -> LocalProcess:
    """``service`` as a process of this machine: its command from this environment's
    executables, its settings with every compose name replaced by the local one (the
    ``index``-th of several)."""
    hosts = dict(places.hosts)
    # What a browser reaches at a published port, and one service at another's name.
    hosts.update({f"localhost:{p}": [f"127.0.0.1:{local}"] for p, local in places.published.items()})
    hosts.update({name: [f"127.0.0.1:{places.published[p]}"] for name, p in places.services.items()})
    paths = {target: _local_volume(source, places) for target, source in service.volumes.items()}
    paths.update({f"{SECRETS_ROOT}/{file}": str(places.secrets / service.name / file) for file in service.secrets})
    paths.setdefault(IMAGE_ROOT, str(places.root))
    ports = {container: places.published[published] for container, published in service.ports.items()}

    def local(text: str) -> str:
        return _local_paths(_local_hosts(_interpolate(text, places.variables), hosts, index), paths)

    environment = {key: local(value) for key, value in service.environment.items()}
    if service.name in places.database_urls:
        environment["CROCEVIA_DATABASE_URL"] = places.database_urls[service.name]
    argv = [local(part) for part in service.command]
    argv[0] = _executable(argv[0])
    for i, part in enumerate(argv[:-1]):
        if part == "--host":
            argv[i + 1] = "127.0.0.1"
        if part == "--port":
            argv[i + 1] = str(ports[int(argv[i + 1])])
    port = next(iter(ports.values()), None)
    # Only the compose file's settings: none of this shell's CROCEVIA_* variables.
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("CROCEVIA_")}
    return LocalProcess(service.name, argv, {**inherited, "PYTHONUNBUFFERED": "1", **environment}, port)


def _local_volume(source: str, places: LocalPlaces) -> str:
    if source.startswith("."):
        return str((places.root / source).resolve())
    return str(places.volumes / source)


def _executable(name: str) -> str:
    """A command of the image, from this Python's environment (the image's PATH is its venv)."""
    if name in ("python", "python3"):
        return sys.executable
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    if not found:
        raise ComposeError(f"{name}: not found next to {sys.executable}")
    return found


def _interpolate(text: str, variables: Mapping[str, str]) -> str:
    return _VARIABLE.sub(lambda m: variables.get(m.group(1)) or (m.group(2) or ""), text)


def _local_hosts(text: str, hosts: Mapping[str, list[str]], index: int) -> str:
    """Every ``scheme://[user@]host:port`` of ``hosts`` in ``text`` as the ``index``-th local address."""
    for address, local in hosts.items():
        port = "" if ":" in address else r":\d+"
        pattern = re.compile(r"(?<=://)([^/@\s,]*@)?" + re.escape(address) + port + r"(?![\w.-])")
        text = pattern.sub(rf"\g<1>{local[index % len(local)]}", text)
    return text


def _local_paths(text: str, paths: Mapping[str, str]) -> str:
    """Every container path of ``paths`` in ``text`` (a value or a line of code) as its local one."""
    for target in sorted(paths, key=len, reverse=True):
        pattern = re.compile(r"(?<![\w.:/-])" + re.escape(target) + r"(?![\w.-])")
        text = pattern.sub(paths[target].replace("\\", "\\\\"), text)
    return text
