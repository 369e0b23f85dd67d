"""The outbox holds nothing its relay could never publish, and a service whose relay cannot
publish says so on /readyz, with the reason."""

from __future__ import annotations

import asyncio
import uuid

import nats
import pytest
from sqlalchemy import func, select

from crocevia_common.db import Database
from crocevia_common.messaging.outbox import OutboxRefused, OutboxRelay, enqueue, next_sequence
from crocevia_contracts.envelope import MAX_EVENT_BYTES
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.bootstrap import MIGRATIONS
from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually


@pytest.mark.parametrize(
    ("subject", "event_id", "payload", "reason"),
    [
        ("referral.v1.a.b.requested", "e-1", b"x" * (MAX_EVENT_BYTES + 1), "over the limit"),
        ("referral.v1.a b.requested", "e-2", b"{}", "not a subject"),
        ("referral.v1.*.b.requested", "e-3", b"{}", "not a subject"),
        ("referral." + "x" * 300, "e-4", b"{}", "not a subject"),
        ("referral.v1.a.b.requested", "e" * 37, b"{}", "at most 36"),
    ],
)
async def test_the_outbox_refuses_an_event_it_could_never_publish(database_url, subject, event_id, payload, reason):
    db = Database(database_url)
    try:
        await db.migrate(MIGRATIONS)
        with pytest.raises(OutboxRefused, match=reason):
            async with db.transaction() as session:
                await enqueue(session, messaging, subject, event_id, payload)
        async with db.connect() as session:
            assert (await session.execute(select(func.count()).select_from(messaging.outbox))).scalar_one() == 0
    finally:
        await db.dispose()


async def test_readyz_fails_with_the_reason_while_the_relay_cannot_publish(node_factory, tokens, nats_url):
    async with node_factory("pioltello-casa") as casa, node_factory("cpia2"):
        assert (await casa.get("/readyz")).json()["checks"]["outbox"] is True
        nc = await nats.connect(nats_url)
        await nc.jetstream().delete_stream("REFERRALS")  # nothing answers a publish any more
        await nc.close()
        sent = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        assert sent.status_code == 201

        async def not_ready():
            answer = await casa.get("/readyz")
            return answer.status_code == 503 and answer.json()

        body = await eventually(not_ready, timeout=20)
    assert (body["checks"]["database"], body["checks"]["nats"], body["checks"]["outbox"]) == (True, True, False)
    assert body["type"] == "/problems/not-ready"
    assert body["detail"].startswith("the outbox relay cannot publish: ")


async def test_a_sources_numbers_are_gapless_under_concurrent_first_takers_and_a_rollback(database_url):
    db = Database(database_url)
    try:
        await db.migrate(MIGRATIONS)

        async def take(source: str, keep: bool = True) -> int:
            async with db.transaction() as session:
                number = await next_sequence(session, messaging, source)
                if not keep:
                    raise LookupError(number)  # rolls the transaction back
            return number

        taken = await asyncio.gather(*(take("new-source") for _ in range(12)))
        assert sorted(taken) == list(range(1, 13))  # the first takers made the row once, none collided
        with pytest.raises(LookupError):
            await take("new-source", keep=False)
        assert await take("new-source") == 13  # the rolled back number is taken again
        assert await take("other-source") == 1
    finally:
        await db.dispose()


async def test_an_event_committed_while_the_relay_reads_the_outbox_leaves_at_once_not_at_the_next_poll(
    database_url, nats_url
):
    """An event committed (and the relay woken) just after a pass of the relay read the outbox
    and found nothing: the relay's wait ends at once, not after its poll of a minute."""
    db = Database(database_url)
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    name = f"RELAY_{uuid.uuid4().hex[:8]}"
    await js.add_stream(name=name, subjects=[f"{name.lower()}.>"])
    committed: list[str] = []

    class Racing(OutboxRelay):
        async def publish_pending(self) -> int:
            published = await super().publish_pending()
            if not published and not committed:  # committed by another transaction right after the read
                async with db.transaction() as session:
                    await enqueue(session, messaging, f"{name.lower()}.late", "e-late", b"{}")
                committed.append("e-late")
                self.wake()
            return published

    relay = Racing(db, messaging, lambda: js, poll_seconds=60.0)
    try:
        await db.migrate(MIGRATIONS)
        running = asyncio.create_task(relay.run())
        try:
            await eventually(lambda: asyncio.sleep(0, relay.published), timeout=20)
        finally:
            running.cancel()
        message = await js.get_last_msg(name, f"{name.lower()}.late")
        assert (committed, relay.published, message.headers["Nats-Msg-Id"]) == (["e-late"], 1, "e-late")
    finally:
        await js.delete_stream(name)
        await nc.close()
        await db.dispose()
