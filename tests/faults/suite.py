"""One seeded run of the fault suite: the network as ``crocevia up`` starts it (a few
agencies, on SQLite or on a PostgreSQL server of its own, killed too), a steady load of
referrals over every pair, each fault kind injected ``rounds`` times in a seeded order at
seeded moments, then the checks of ``verdict``."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.net import launch
from bench.net.bus import Bus
from bench.net.client import Client
from bench.net.load import Context
from tests.faults import verdict
from tests.faults.faults import KINDS, POSTGRES, Fault, Faults, all_caught_up
from tests.faults.load import Load
from tests.faults.postgres import PrivateServer


@dataclass(frozen=True)
class Params:
    agencies: tuple[str, ...] = ("cpia2", "pioltello-casa", "coop-abitare")
    database: str = "sqlite"  # or "postgresql"
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
            f"seed {self.seed}, {self.database}: {'ok' if self.ok else 'FAILED'} in {self.seconds:.0f} s, "
            f"{len(self.faults)} faults, {self.retries} requests sent again"
        )
        faults = [
            f"  {f.kind} {f.target} at {f.at:.1f} s: {'ok' if f.ok else 'FAILED'}, checked: {f.checked}"
            for f in self.faults
        ]
        checks = [verdict.as_text(name, counts) for name, counts in self.checks.items()]
        return "\n".join([head, *faults, *checks])


async def exercise(run: launch.Running, seed: int, params: Params, postgres: PrivateServer | None) -> Outcome:
    rng = random.Random(seed)
    client, bus = Client(run.urls, run.key_file), await Bus.connect(run.urls)
    ctx = Context(client, bus, {}, None)
    began = time.monotonic()
    try:
        await client.learn_services()
        faults = Faults(ctx, run.network, run.urls, rng, params.copies, postgres)
        kinds = (*KINDS, POSTGRES) if postgres else KINDS
        plan = [kind for kind in kinds for _ in range(params.rounds)]
        rng.shuffle(plan)
        load = Load(ctx, params.rate, rng)
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
        return Outcome(seed, params.database, time.monotonic() - began, faults.done, checks, load.retries)
    finally:
        await client.close()
        await bus.close()


def run_seed(seed: int, params: Params, workdir: Path, progress: Callable[[str], None]) -> Outcome:
    """Start a network in ``workdir``, run seed ``seed`` on it, stop it."""
    settings = {"CROCEVIA_CONSUMER_ACK_WAIT_SECONDS": str(params.ack_wait_seconds)}
    agencies = list(params.agencies)
    postgres = PrivateServer().create() if params.database == "postgresql" else None
    try:
        if postgres is not None:
            postgres.start()
        url = postgres.url if postgres else launch.DEFAULT_POSTGRES
        with launch.running(params.database, workdir, agencies, url, progress, settings) as run:
            return asyncio.run(exercise(run, seed, params, postgres))
    finally:
        if postgres is not None:
            postgres.remove()
