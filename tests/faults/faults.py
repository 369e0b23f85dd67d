"""The faults the suite injects under load, each with what it checks once the network has
taken it: a process killed with SIGKILL (a referrals node, the audit, notifications, the
NATS server or one member of a three-server cluster, the PostgreSQL server when the services
run on one) and started again, stream messages delivered twice and out of order, and a
node's database stalled or its disk filled."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.net.bus import AUDIT_CONSUMER, NOTIFICATIONS_CONSUMER, REFERRALS
from bench.net.load import Context
from crocevia.devnet import Network
from tests.faults.cluster import ClusterNetwork, current_everywhere, grown_past, last_sequence
from tests.faults.load import Load
from tests.faults.postgres import PrivateServer
from tests.faults.processes import all_ready, kill, start_again
from tests.faults.progress import all_caught_up, caught_up, duplicates_at_audit, durables, verify_ok
from tests.faults.storage import Probe, answers_text, database_url, server_errors, stalled
from tests.kit.disk import SmallDisk, truncate_wal

NODE, AUDIT, NOTIFICATIONS, NATS, DUPLICATES = "kill node", "kill audit", "kill notifications", "kill nats", "duplicate"
POSTGRES, STALL, DISK_FULL, NATS_MEMBER = "kill postgresql", "stall database", "fill disk", "kill nats member"
KINDS = (NODE, AUDIT, NOTIFICATIONS, NATS, DUPLICATES, STALL)
# On a NATS cluster: one member killed instead of the whole server.
CLUSTER_KINDS = (NODE, AUDIT, NOTIFICATIONS, NATS_MEMBER, DUPLICATES, STALL)


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
    load: Load
    postgres: PrivateServer | None = None  # the services' database server, when not SQLite
    disks: Mapping[str, SmallDisk] = field(default_factory=dict)  # agency -> its node's database disk
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
        elif kind == STALL:
            fault = await self.stall_database()
        elif kind == DISK_FULL:
            fault = await self.fill_disk()
        elif kind == NATS_MEMBER:
            fault = await self.kill_cluster_member()
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
            ok, said = await verify_ok(self.ctx)
            checked += f"; /verify: {said}"
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

    def _other(self, agency: str) -> str:
        return self.rng.choice(sorted(a for a in self.ctx.client.nodes if a != agency))

    async def stall_database(self) -> Fault:
        """A node's database held for 3 to 8 s, then (every other stall) for 11 to 13 s, past
        SQLite's busy timeout (10 s); a referral sent to it meanwhile, and the load, are
        answered late or refused with 503, never a 500."""
        agency, at = self.rng.choice(sorted(self.ctx.client.nodes)), self.now()
        longer = sum(f.kind == STALL for f in self.done) % 2 == 1
        target, seconds = f"referrals-{agency}", round(self.rng.uniform(*((11.0, 13.0) if longer else (3.0, 8.0))), 1)
        refused_before, sent_before = Counter(self.load.refused), len(self.ctx.sent)
        async with stalled(database_url(self.network, target)) as how:
            probe = Probe.send(self.load, agency, self._other(agency))
            await asyncio.sleep(seconds)
        first, waited = await probe.settle(self.load)
        upto = await self.ctx.bus.last_sequence()
        await caught_up(self.ctx, target, upto)
        refused = self.load.refused - refused_before
        checked = (
            f"{how} for {seconds} s; a referral sent meanwhile first answered {first} after {waited:.1f} s; "
            f"the load's refusals: {answers_text(refused)}; {len(self.ctx.sent) - sent_before} referrals made "
            f"meanwhile; {target} caught up to stream sequence {upto}"
        )
        ok = server_errors(refused + Counter([first])) == 0
        return Fault(STALL, target, at, checked, ok)

    async def fill_disk(self) -> Fault:
        """A node's disk filled to the last byte after its write-ahead log was checkpointed
        (so its next write needs space), for 1 to 3 s: a referral sent to it meanwhile is
        refused with 503 /problems/storage-full, and made once when sent again after."""
        agency, at = self.rng.choice(sorted(self.disks)), self.now()
        disk, target = self.disks[agency], f"referrals-{agency}"
        refused_before, sent_before = Counter(self.load.refused), len(self.ctx.sent)
        truncated = await asyncio.to_thread(truncate_wal, disk.path / f"{target}.db")
        filled = await asyncio.to_thread(disk.fill)
        try:
            probe = Probe.send(self.load, agency, self._other(agency))
            await probe.task
            await asyncio.sleep(self.rng.uniform(1.0, 3.0))
        finally:
            disk.free()
        first, waited = await probe.settle(self.load)
        upto = await self.ctx.bus.last_sequence()
        await caught_up(self.ctx, target, upto)
        refused = self.load.refused - refused_before
        checked = (
            f"log truncated: {truncated}; {filled // 1024} KiB written until the disk refused more; a referral "
            f"sent meanwhile first answered {first} after {waited:.1f} s, sent again once space was back; the "
            f"load's refusals: {answers_text(refused)}; {len(self.ctx.sent) - sent_before} referrals made "
            f"meanwhile; {target} caught up to stream sequence {upto}"
        )
        ok = first == "503 /problems/storage-full" and server_errors(refused) == 0
        return Fault(DISK_FULL, target, at, checked, ok)

    async def kill_cluster_member(self) -> Fault:
        """One of the three NATS servers killed for 1 to 3 s, and longer until the stream has
        grown without it: the stream goes on growing on the other two (their clients reconnect
        there), the member started again becomes a current replica of every stream, and every
        durable catches up."""
        assert isinstance(self.network, ClusterNetwork)
        target, at = self.rng.choice(self.network.members()), self.now()
        sent_before, last_before = len(self.ctx.sent), await last_sequence(self.ctx.bus)
        kill(self.network, target)
        await asyncio.sleep(self.rng.uniform(1.0, 3.0))
        # Down until the stream has grown on the other two (clients take a moment to
        # reconnect there, longer on a loaded machine), for at most 30 s more.
        while_down = await grown_past(self.ctx.bus, last_before, timeout=30)
        made_while_down = len(self.ctx.sent) - sent_before
        recovered = await start_again(self.network, target, self.urls)
        streams, replica = await current_everywhere(self.ctx.bus, target)
        upto = await all_caught_up(self.ctx)
        checked = (
            f"while it was down the stream went on ({last_before} -> {while_down}) and {made_while_down} referrals "
            f"were made; listening again {recovered:.1f} s after its restart, a current replica of all {streams} "
            f"streams {replica:.1f} s later; every durable caught up to stream sequence {upto}"
        )
        return Fault(NATS_MEMBER, target, at, checked, while_down > last_before and made_while_down > 0)
