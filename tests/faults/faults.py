"""The faults the suite injects under load, each with what it checks once the network has
taken it: a process killed with SIGKILL (a referrals node, the audit, notifications, the
NATS server, the PostgreSQL server when the services run on one) and started again, and
stream messages delivered twice and out of order."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.net.bus import AUDIT_CONSUMER, NOTIFICATIONS_CONSUMER, REFERRALS
from bench.net.load import Context
from crocevia.devnet import Network
from tests.faults.postgres import PrivateServer
from tests.faults.processes import all_ready, kill, start_again

NODE, AUDIT, NOTIFICATIONS, NATS, DUPLICATES = "kill node", "kill audit", "kill notifications", "kill nats", "duplicate"
POSTGRES = "kill postgresql"
KINDS = (NODE, AUDIT, NOTIFICATIONS, NATS, DUPLICATES)


@dataclass
class Fault:
    kind: str
    target: str
    at: float  # seconds into the run
    checked: str  # what was checked once the network had taken it, with the counts
    ok: bool


@dataclass
class Faults:
    """What the faults share: the network, its clock, and the copies that reached the stream
    (each must show as one duplicate at the audit and change nothing elsewhere)."""

    ctx: Context
    network: Network
    urls: Mapping[str, Any]
    rng: random.Random
    copies: int  # messages copied per duplication
    postgres: PrivateServer | None = None  # the services' database server, when not SQLite
    began: float = field(default_factory=time.monotonic)
    landed_copies: int = 0
    done: list[Fault] = field(default_factory=list)

    def now(self) -> float:
        return round(time.monotonic() - self.began, 1)

    async def inject(self, kind: str) -> Fault:
        if kind == DUPLICATES:
            fault = await self.duplicate_and_reorder()
        elif kind == POSTGRES:
            fault = await self.kill_database_server()
        else:
            fault = await self.kill_and_restart(kind)
        self.done.append(fault)
        return fault

    def _target(self, kind: str) -> str:
        if kind == NODE:
            return f"referrals-{self.rng.choice(sorted(self.ctx.client.nodes))}"
        return {AUDIT: "audit", NOTIFICATIONS: "notifications", NATS: "nats"}[kind]

    async def kill_and_restart(self, kind: str) -> Fault:
        target, at = self._target(kind), self.now()
        sent_before, last_before = len(self.ctx.sent), await self.ctx.bus.last_sequence()
        kill(self.network, target)
        await asyncio.sleep(self.rng.uniform(0.2, 1.5))
        recovered = await start_again(self.network, target, self.urls)
        if kind == NATS:
            recovered += await all_ready(self.network, self.urls)
        upto = await self.ctx.bus.last_sequence()
        watched = {
            NODE: [target],
            AUDIT: [AUDIT_CONSUMER],
            NOTIFICATIONS: [NOTIFICATIONS_CONSUMER],
            NATS: durables(self.ctx),
        }[kind]
        for durable in watched:
            await caught_up(self.ctx, durable, upto)
        made = len(self.ctx.sent) - sent_before
        checked = (
            f"ready again {recovered:.1f} s after its restart; {', '.join(watched)} caught up to stream "
            f"sequence {upto}; {made} referrals made meanwhile"
        )
        ok = True
        if kind == AUDIT:
            ok = await verify_ok(self.ctx)
            checked += f"; /verify ok: {ok}"
        if kind == NATS:
            ok = upto > last_before
            checked += f"; the outboxes published what they held (stream {last_before} -> {upto})"
        return Fault(kind, target, at, checked, ok)

    async def kill_database_server(self) -> Fault:
        """Every service loses its database at once; each waits it out, none loses a write
        it answered for."""
        assert self.postgres is not None
        at, sent_before = self.now(), len(self.ctx.sent)
        self.postgres.kill()
        await asyncio.sleep(self.rng.uniform(0.2, 1.5))
        began = time.monotonic()
        await asyncio.to_thread(self.postgres.start)
        recovered = time.monotonic() - began + await all_ready(self.network, self.urls)
        upto = await all_caught_up(self.ctx)
        checked = (
            f"every service ready again {recovered:.1f} s after the restart (crash recovery); every durable "
            f"caught up to stream sequence {upto}; {len(self.ctx.sent) - sent_before} referrals made meanwhile"
        )
        return Fault(POSTGRES, "postgresql", at, checked, True)

    async def duplicate_and_reorder(self) -> Fault:
        """Copies of random messages of the stream: half under their own ``Nats-Msg-Id``
        (JetStream must drop them), half under a new one, published newest first (they land,
        out of order, and every consumer meets an event it has applied already)."""
        at, js = self.now(), self.ctx.bus.js
        for _ in range(600):  # early in a run: let the load put enough in the stream
            if (last := await self.ctx.bus.last_sequence()) >= 2 * self.copies:
                break
            await asyncio.sleep(0.2)
        picked = sorted(self.rng.sample(range(1, last + 1), min(self.copies, last)))
        messages = [await js.get_msg(REFERRALS, seq) for seq in picked]
        same, fresh = messages[::2], messages[1::2]
        dropped = 0
        for msg in same:
            ack = await js.publish(msg.subject or "", msg.data or b"", headers=dict(msg.headers or {}))
            dropped += bool(ack.duplicate)
        for n, msg in enumerate(reversed(fresh)):
            headers = dict(msg.headers or {})
            headers["Nats-Msg-Id"] = f"{headers.get('Nats-Msg-Id', '')}.copy-{self.landed_copies + n}"
            ack = await js.publish(msg.subject or "", msg.data or b"", headers=headers)
            assert not ack.duplicate
        self.landed_copies += len(fresh)
        await all_caught_up(self.ctx)
        anomalies = await duplicates_at_audit(self.ctx)
        checked = (
            f"JetStream dropped {dropped} of {len(same)} copies under their own id; {len(fresh)} under new ids "
            f"landed newest first; every consumer caught up; the audit recorded {anomalies} duplicates "
            f"for the {self.landed_copies} copies landed so far"
        )
        return Fault(DUPLICATES, "REFERRALS", at, checked, dropped == len(same) and anomalies == self.landed_copies)


def durables(ctx: Context) -> list[str]:
    """Every durable consumer of REFERRALS: the audit's, notifications', each node's."""
    return [AUDIT_CONSUMER, NOTIFICATIONS_CONSUMER, *(f"referrals-{a}" for a in ctx.client.nodes)]


async def all_caught_up(ctx: Context) -> int:
    """Wait until every durable has applied the stream as it is now; its last sequence."""
    upto = await ctx.bus.last_sequence()
    for durable in durables(ctx):
        await caught_up(ctx, durable, upto)
    return upto


async def caught_up(ctx: Context, durable: str, upto: int, timeout: float = 120.0) -> None:
    """Wait until ``durable`` has acknowledged everything up to stream sequence ``upto``
    (or holds nothing and has nothing pending: a filtered consumer may see nothing more)."""
    deadline = time.monotonic() + timeout
    while True:
        info = await ctx.bus.js.consumer_info(REFERRALS, durable)
        if int(info.ack_floor.stream_seq or 0) >= upto or not (info.num_pending or info.num_ack_pending):
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"consumer {durable} not caught up to {upto} within {timeout:.0f} s: {info}")
        await asyncio.sleep(0.05)


async def verify_ok(ctx: Context) -> bool:
    """Whether the audit's ``/verify`` recomputes its trail to every signed checkpoint."""
    answer = await ctx.client.http.get(f"{ctx.client.audit}/verify", headers=ctx.client.auditor())
    return answer.status_code == 200 and bool(answer.json().get("ok"))


async def duplicates_at_audit(ctx: Context) -> int:
    answer = await ctx.client.http.get(
        f"{ctx.client.audit}/anomalies", params={"kind": "duplicate", "limit": 1000}, headers=ctx.client.auditor()
    )
    answer.raise_for_status()
    return len(answer.json()["anomalies"])
