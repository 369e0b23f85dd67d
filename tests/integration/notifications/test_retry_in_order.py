"""A referral's ``requested`` fails once while notifications applies it, with its
``received`` right behind it on the stream: the consumer tries the request again before
anything later, so notifications ends with the referral received, and nobody is reminded
that a referral their agency already has was not received in time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database
from crocevia_common.messaging.streams import ensure_streams
from crocevia_contracts import EventName
from crocevia_contracts.lifecycle import Status
from crocevia_contracts.sealing import PartyKeys
from crocevia_notifications.adapters.referral_store import SqlReferrals
from crocevia_notifications.adapters.timer_store import SqlTimers
from crocevia_notifications.adapters.unit_of_work import SqlTransaction, SqlUnitOfWork
from crocevia_notifications.domain.referral import Followed
from crocevia_notifications.domain.timers import Stage, TimerState
from tests.integration.notifications.support import MovableClock, consumed, looked_again
from tests.kit.services import eventually

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # routine: received within 24 h, decided within 120 h


class OneFault:
    """The first time notifications starts following a referral, the transaction fails
    after its insert (as a dropped connection would); every later time it works."""

    def __init__(self) -> None:
        self.tripped = 0

    def unit_of_work(self, db: Database, keys: PartyKeys) -> SqlUnitOfWork:
        fault = self

        class Faulty(SqlUnitOfWork):
            @asynccontextmanager
            async def transaction(self) -> AsyncIterator[SqlTransaction]:
                async with super().transaction() as tx:
                    tx.referrals = FaultyReferrals(tx.session, fault)
                    yield tx

        return Faulty(db, keys)


class FaultyReferrals(SqlReferrals):
    def __init__(self, session: AsyncConnection, fault: OneFault) -> None:
        super().__init__(session)
        self.fault = fault

    async def add(self, referral: Followed, at: datetime) -> None:
        await super().add(referral, at)
        if not self.fault.tripped:
            self.fault.tripped += 1
            raise RuntimeError("the connection dropped")


async def inbox(app, tokens, agency: str, sub: str) -> list[tuple[str, str, str]]:
    answer = await app.get("/inbox", headers=tokens.bearer(agency, sub=sub))
    assert answer.status_code == 200, answer.text
    return [(i["kind"], i["event"], i["status"]) for i in answer.json()["items"]]


async def test_a_request_that_failed_once_is_applied_before_its_receipt_and_nobody_is_falsely_reminded(
    notifications_factory, database_url, events, js, tokens
):
    await ensure_streams(js)
    requested = await events.requested("ref-1", at=START)
    await events.step(requested, EventName.RECEIVED)
    fault, clock = OneFault(), MovableClock(START)
    async with notifications_factory(database_url, clock=clock, unit_of_work=fault.unit_of_work) as app:
        await eventually(lambda: consumed(js))
        assert fault.tripped == 1

        db = Database(database_url)
        try:
            async with db.connect() as session:
                followed = await SqlReferrals(session).get("ref-1")
                timers = await SqlTimers(session).of_referral("ref-1")
        finally:
            await db.dispose()
        assert followed is not None and followed.status is Status.RECEIVED
        assert (followed.sender_step, followed.receiver_step) == (1, 1)
        pending = {(t.kind.value, t.stage) for t in timers if t.state is TimerState.PENDING}
        assert pending == {("reminder", Stage.DECIDE), ("escalation", Stage.DECIDE)}

        # Past the receive target (24 h), before the decision target (120 h).
        clock.advance(hours=25)
        await looked_again(app, "timers")
        assert await inbox(app, tokens, "cpia2", "operator-cpia2") == [("event", "requested", "requested")]
        assert await inbox(app, tokens, "cpia2", "supervisor-cpia2") == []
        assert await inbox(app, tokens, "pioltello-casa", "op-1") == [("event", "received", "received")]
