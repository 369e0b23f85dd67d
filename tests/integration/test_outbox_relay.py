"""The outbox relay publishes what a transaction hands it without reading it back when that is
all there is to publish next (SQLite), reads the outbox otherwise, keeps commit order either
way, and writes ``published_at`` once per interval: what it published and has not marked is
neither published twice by it nor counted as waiting, and after a crash in between JetStream
keeps one copy."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import nats
import pytest
from nats.js import JetStreamContext
from sqlalchemy import select

from crocevia_common.db import Database
from crocevia_common.messaging.outbox import OutboxRelay, Queued, enqueue
from crocevia_common.metrics import Metrics, outbox_state
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.bootstrap import MIGRATIONS
from tests.kit.services import eventually


@dataclass
class Setup:
    db: Database
    js: JetStreamContext
    stream: str

    async def commit(self, event_id: str) -> Queued:
        """One event stored in its own transaction."""
        async with self.db.transaction() as session:
            return await enqueue(session, messaging, f"{self.stream.lower()}.{event_id}", event_id, b"{}")

    def relay(self, **options: float) -> OutboxRelay:
        return OutboxRelay(self.db, messaging, lambda: self.js, poll_seconds=3600, **options)

    async def published_ids(self) -> list[str]:
        """The ``Nats-Msg-Id`` of each message of the stream, in stream order."""
        info = await self.js.stream_info(self.stream)
        return [
            (await self.js.get_msg(self.stream, seq)).headers["Nats-Msg-Id"]  # type: ignore[index]
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]

    async def marked(self) -> dict[str, bool]:
        box = messaging.outbox
        async with self.db.connect() as session:
            rows = (await session.execute(select(box.c.event_id, box.c.published_at).order_by(box.c.position))).all()
        return {row.event_id: row.published_at is not None for row in rows}


@pytest.fixture
async def setup(database_url: str, nats_url: str) -> AsyncIterator[Setup]:
    db = Database(database_url)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    stream = f"RELAY_{uuid.uuid4().hex[:8]}"
    await js.add_stream(name=stream, subjects=[f"{stream.lower()}.>"])
    try:
        await db.migrate(MIGRATIONS)
        yield Setup(db, js, stream)
    finally:
        await js.delete_stream(stream)
        await nc.close()
        await db.dispose()


async def test_handed_events_leave_in_commit_order_without_a_read_and_are_marked_together(setup: Setup) -> None:
    relay = setup.relay(mark_after_seconds=3600)
    first = await setup.commit("e1")
    relay.wake([first])
    assert await relay.publish_pending() == 1
    assert relay.reads == 1, "the first pass reads: the relay does not know yet what was published"

    # Handed in another order than they committed in: published in commit order.
    second, third = await setup.commit("e2"), await setup.commit("e3")
    relay.wake([third])
    relay.wake([second])
    assert await relay.publish_pending() == 2
    # A row committed and not handed over (another path, or a hand-off lost): the next
    # handed row does not follow the last published, so the relay reads and sends both.
    await setup.commit("e4")
    relay.wake([await setup.commit("e5")])
    assert await relay.publish_pending() == 2
    assert await setup.published_ids() == ["e1", "e2", "e3", "e4", "e5"]
    sqlite = setup.db.is_sqlite
    # SQLite: positions are gapless in commit order, so the rows handed over were all there was;
    # PostgreSQL's sequence leaves gaps, so each pass read the outbox.
    assert relay.reads == (2 if sqlite else 3)

    # Published and not marked yet: not in the outbox's backlog, and not read again.
    assert await setup.marked() == dict.fromkeys(["e1", "e2", "e3", "e4", "e5"], False)
    metrics = Metrics()
    await outbox_state(setup.db, messaging, metrics, relay.unmarked)
    assert metrics.registry.get_sample_value("crocevia_outbox_backlog") == 0
    await outbox_state(setup.db, messaging, metrics)
    assert metrics.registry.get_sample_value("crocevia_outbox_backlog") == 5, "the rows still wait for their mark"
    assert await relay.publish_pending() == 0
    await relay.mark()
    assert (relay.unmarked, await setup.marked()) == ([], dict.fromkeys(["e1", "e2", "e3", "e4", "e5"], True))
    assert (relay.published, await setup.published_ids()) == (5, ["e1", "e2", "e3", "e4", "e5"])


async def test_events_published_and_not_marked_when_the_relay_stops_are_published_again_once(setup: Setup) -> None:
    lost = setup.relay(mark_after_seconds=3600)
    for event_id in ("e1", "e2"):
        lost.wake([await setup.commit(event_id)])
    assert await lost.publish_pending() == 2
    # The process dies here: JetStream has both, the outbox marks neither.
    again = setup.relay(mark_after_seconds=3600)
    assert await again.publish_pending() == 2
    await again.mark()
    assert await setup.published_ids() == ["e1", "e2"], "JetStream kept one copy of each, by its Nats-Msg-Id"
    assert await setup.marked() == {"e1": True, "e2": True}


async def test_the_running_relay_marks_what_it_published_within_its_interval(setup: Setup) -> None:
    relay = setup.relay(mark_after_seconds=0.2)
    running = asyncio.create_task(relay.run())
    try:
        for event_id in ("e1", "e2", "e3"):
            relay.wake([await setup.commit(event_id)])
        marked = await eventually(lambda: _all_marked(setup), timeout=20)
    finally:
        running.cancel()
    assert marked == {"e1": True, "e2": True, "e3": True}
    assert await setup.published_ids() == ["e1", "e2", "e3"]


async def _all_marked(setup: Setup) -> dict[str, bool] | None:
    marked = await setup.marked()
    return marked if len(marked) == 3 and all(marked.values()) else None
