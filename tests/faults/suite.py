"""One seeded run of the fault suite: the network as ``crocevia up`` starts it (a few
agencies, on SQLite or on a PostgreSQL server of its own, killed too; NATS one server or a
three-server cluster), a steady load of referrals over every pair, each fault kind injected
``rounds`` times in a seeded order at seeded moments, then the checks of ``verdict``. On
SQLite each node's database lives on a small disk of its own, so that it can be filled
(when this machine lets the suite mount one: as root)."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.net import launch
from bench.net.bus import Bus
from bench.net.client import Client
from bench.net.load import Context
from tests.faults import verdict
from tests.faults.cluster import ClusterNetwork
from tests.faults.faults import CLUSTER_KINDS, DISK_FULL, KINDS, POSTGRES, Fault, Faults
from tests.faults.load import Load
from tests.faults.postgres import PrivateServer
from tests.faults.progress import all_caught_up
from tests.kit.disk import SmallDisk, mountable


@dataclass(frozen=True)
class Params:
    agencies: tuple[str, ...] = ("cpia2", "pioltello-casa", "coop-abitare")
    database: str = "sqlite"  # or "postgresql"
    nats: str = "server"  # or "cluster": three servers, streams replicated three times
    kinds: tuple[str, ...] | None = None  # the fault kinds; None: every kind the network allows
    rate: float = 2.0  # referrals per second
    rounds: int = 1  # how many times each fault kind is injected
    copies: int = 6  # messages copied by each duplication
    gap: tuple[float, float] = (0.3, 1.0)  # seconds of load between two faults
    # A message delivered to a consumer that was killed is redelivered after this: the
    # default (30 s) would stall each consumer that long after each kill.
    ack_wait_seconds: float = 5.0


@dataclass
class Outcome:
    seed: int
    database: str
    nats: str
    seconds: float
    faults: list[Fault]
    checks: dict[str, dict[str, object]]
    retries: int
    lines: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.ok for f in self.faults) and all(c["ok"] for c in self.checks.values())

    def text(self) -> str:
        head = (
            f"seed {self.seed}, {self.database}, nats {self.nats}: {'ok' if self.ok else 'FAILED'} in "
            f"{self.seconds:.0f} s, "
            f"{len(self.faults)} faults, {self.retries} requests sent again"
        )
        faults = [
            f"  {f.kind} {f.target} at {f.at:.1f} s: {'ok' if f.ok else 'FAILED'}, checked: {f.checked}"
            for f in self.faults
        ]
        checks = [verdict.as_text(name, counts) for name, counts in self.checks.items()]
        return "\n".join([head, *faults, *checks])


def planned_kinds(params: Params, postgres: bool, disks: bool) -> tuple[str, ...]:
    """The fault kinds of a run: those asked for, or every kind its network allows."""
    if params.kinds is not None:
        return params.kinds
    kinds = CLUSTER_KINDS if params.nats == "cluster" else KINDS
    return (*kinds, *([POSTGRES] if postgres else []), *([DISK_FULL] if disks else []))


async def exercise(
    run: launch.Running, seed: int, params: Params, postgres: PrivateServer | None, disks: dict[str, SmallDisk]
) -> Outcome:
    rng = random.Random(seed)
    client, bus = Client(run.urls, run.key_file), await Bus.connect(run.urls)
    ctx = Context(client, bus, {}, None)
    began = time.monotonic()
    try:
        await client.learn_services()
        load = Load(ctx, params.rate, rng)
        faults = Faults(ctx, run.network, run.urls, rng, params.copies, load, postgres, disks)
        plan = [kind for kind in planned_kinds(params, bool(postgres), bool(disks)) for _ in range(params.rounds)]
        rng.shuffle(plan)
        load.start()
        checks: dict[str, dict[str, object]] = {}
        try:
            try:
                for kind in plan:
                    await asyncio.sleep(rng.uniform(*params.gap))
                    await faults.inject(kind)
                await asyncio.sleep(rng.uniform(*params.gap))
            finally:
                await load.stop()
            await load.settled()
            await all_caught_up(ctx)
            checks["referrals"] = await verdict.referrals(ctx)
            checks["trail"] = await verdict.trail(ctx, faults.landed_copies)
            checks["notifications"] = await verdict.notifications(ctx)
        except (TimeoutError, RuntimeError, AssertionError) as exc:  # reported with what came before
            checks["run"] = {"ok": False, "stopped by": f"{type(exc).__name__}: {str(exc)[:300]}"}
        seconds = time.monotonic() - began
        return Outcome(seed, params.database, params.nats, seconds, faults.done, checks, load.retries)
    finally:
        await client.close()
        await bus.close()


@contextmanager
def node_disks(workdir: Path, params: Params) -> Iterator[dict[str, SmallDisk]]:
    """On SQLite, a small disk of its own for each node's database, when one can be mounted."""
    disks: dict[str, SmallDisk] = {}
    try:
        if params.database == "sqlite" and (params.kinds is None or DISK_FULL in params.kinds):
            if (why := mountable()) is not None and params.kinds is not None:
                raise RuntimeError(f"no disk of its own for a node: {why}")
            if why is None:
                disks = {a: SmallDisk(workdir / "disks" / a).mount() for a in params.agencies}
        yield disks
    finally:
        for disk in disks.values():
            disk.unmount()


def run_seed(seed: int, params: Params, workdir: Path, progress: Callable[[str], None]) -> Outcome:
    """Start a network in ``workdir``, run seed ``seed`` on it, stop it."""
    settings = {"CROCEVIA_CONSUMER_ACK_WAIT_SECONDS": str(params.ack_wait_seconds)}
    agencies = list(params.agencies)
    postgres = PrivateServer().create() if params.database == "postgresql" else None
    network_class = ClusterNetwork if params.nats == "cluster" else launch.BenchNetwork
    try:
        if postgres is not None:
            postgres.start()
        url = postgres.url if postgres else launch.DEFAULT_POSTGRES
        with node_disks(workdir, params) as disks:
            own = {
                f"referrals-{a}": {"CROCEVIA_DATABASE_URL": f"sqlite+aiosqlite:///{d.path / f'referrals-{a}.db'}"}
                for a, d in disks.items()
            }
            with launch.running(params.database, workdir, agencies, url, progress, settings, own, network_class) as run:
                return asyncio.run(exercise(run, seed, params, postgres, disks))
    finally:
        if postgres is not None:
            postgres.remove()
