"""The fault suite's network on a three-server NATS cluster (``crocevia.nats_cluster``, as a
region runs it), every stream replicated three times: each service connects to one member, as
a deployment's seed server (``deploy/README.md``), and learns the others from it, so that
losing a member moves its clients to the others. A member killed with SIGKILL is started again
and must become a current replica of every stream."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import replace

import nats.errors

from bench.net.bus import REFERRALS, Bus
from bench.net.launch import BenchNetwork
from crocevia.devnet import NetworkConfig, NetworkUrls
from crocevia.nats_accounts import accounts_config
from crocevia.nats_cluster import NatsCluster
from crocevia.nats_secrets import private_directory, server_environment
from crocevia.processes import ChildProcess
from tests.faults.progress import impatient

REPLICAS = 3


class ClusterNetwork(BenchNetwork):
    """``crocevia up``'s network with NATS as a three-server cluster, members ``nats-n1`` to
    ``nats-n3``; ``network.json`` names the first member."""

    stream_replicas = REPLICAS

    def __init__(self, config: NetworkConfig, service_settings: Mapping[str, Mapping[str, str]]) -> None:
        store = config.data_dir.resolve() / "nats"
        self.cluster = NatsCluster(store, store / "accounts.conf", {}, size=REPLICAS)
        self._seeds: dict[str, str] = {}
        super().__init__(config, service_settings)

    def _plan_urls(self) -> NetworkUrls:
        return replace(super()._plan_urls(), nats=self.cluster.urls[0])

    def members(self) -> list[str]:
        return [p.name for p in self.cluster.processes] or [f"nats-{s.name}" for s in self.cluster.servers]

    def ports(self) -> dict[str, int]:
        planned = super().ports()
        planned.update({f"nats-{s.name}": s.port for s in self.cluster.servers})
        return planned

    def _start_nats(self, passwords: dict[str, str]) -> None:
        store = private_directory(self.data_dir / "nats")
        private_directory(self.data_dir / "logs")
        (store / "accounts.conf").write_text(accounts_config(self._agencies))
        self.cluster.environment = server_environment(passwords)
        self.cluster.start()

    def service_env(self, name: str, port: int, extra: dict[str, str]) -> dict[str, str]:
        env = super().service_env(name, port, extra)
        # The services spread over the members, one seed each.
        seed = self._seeds.setdefault(name, self.cluster.urls[len(self._seeds) % REPLICAS])
        env.update({"CROCEVIA_NATS_URL": seed, "CROCEVIA_STREAM_REPLICAS": str(REPLICAS)})
        return env

    def processes(self) -> list[ChildProcess]:
        return [*self.cluster.processes, *super().processes()]

    def stop(self) -> None:
        super().stop()
        self.cluster.stop()


async def last_sequence(bus: Bus, timeout: float = 60.0) -> int:
    """The stream's last sequence, asked until a member answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return int((await impatient(bus).stream_info(REFERRALS)).state.last_seq)
        except (nats.errors.TimeoutError, nats.errors.NoRespondersError, nats.errors.ConnectionClosedError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


async def grown_past(bus: Bus, sequence: int, timeout: float) -> int:
    """The stream's last sequence once it is past ``sequence``, or as it is after ``timeout``
    seconds."""
    deadline = time.monotonic() + timeout
    while True:
        last = await last_sequence(bus)
        if last > sequence or time.monotonic() > deadline:
            return last
        await asyncio.sleep(0.2)


async def current_everywhere(bus: Bus, member: str, timeout: float = 120.0) -> tuple[int, float]:
    """Wait until ``member`` (``nats-n2``) is the leader or a current replica, lagging by
    nothing, of every stream; how many streams, and the seconds it took."""
    server, began = member.removeprefix("nats-"), time.monotonic()
    while True:
        behind = []
        try:
            streams = await impatient(bus).streams_info()
        except Exception as exc:  # a stream without a leader yet answers an error
            streams, behind = [], [f"({type(exc).__name__})"]
        for info in streams:
            cluster = info.cluster
            if cluster is None or cluster.leader == server:
                continue
            peer = next((r for r in cluster.replicas or [] if r.name == server), None)
            if peer is None or not peer.current or peer.offline or (peer.lag or 0) > 0:
                behind.append(info.config.name or "?")
        if not behind:
            return len(streams), time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise TimeoutError(f"{member} not a current replica of {', '.join(behind)} within {timeout:.0f} s")
        await asyncio.sleep(0.2)
