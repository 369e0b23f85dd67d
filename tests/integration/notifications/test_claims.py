"""A batch of referral events is recorded as applied in one statement, then each event is
taken by its claim: once per event id (a copy later in the batch is applied already), and a
publisher's number names one event only (another event with it is refused). The inbox items
a batch makes are written together before its commit, and seen by any read before that. On
SQLite and PostgreSQL, with the service's own transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from crocevia_common.db import Database
from crocevia_common.keystore import load_or_create_keys
from crocevia_common.messaging.intake import Delivery, Unprocessable, Verified
from crocevia_contracts import Envelope, referral_subject
from crocevia_contracts.events import EventName, Requested
from crocevia_notifications.adapters.notice_events import PARTY
from crocevia_notifications.adapters.tables import messaging
from crocevia_notifications.adapters.unit_of_work import SqlUnitOfWork
from crocevia_notifications.bootstrap import MIGRATIONS
from crocevia_notifications.domain.notices import Notice, NoticeKind
from crocevia_notifications.domain.staff import StaffMember
from crocevia_notifications.domain.templates import Message
from crocevia_notifications.handlers.ports import Told


def requested(referral_id: str, sequence: int) -> Verified:
    data = Requested(
        referral_id=referral_id,
        sender_agency="pioltello-casa",
        receiver_agency="cpia2",
        service_id="main-service",
        domain="language",
        priority="routine",
        occurred_at=datetime.now(UTC),
        step=1,
        legal_basis={"basis": "consent", "captured_by": "op-1"},
    )
    envelope = Envelope.build(source_agency="pioltello-casa", sequence=sequence, data=data)
    subject = referral_subject("pioltello-casa", "cpia2", EventName.REQUESTED)
    return Verified(Delivery(subject, envelope.to_json()), "pioltello-casa", envelope)


async def test_a_batch_is_claimed_at_once_each_event_once_and_a_reused_number_refused(database_url: str) -> None:
    db = Database(database_url)
    await db.migrate(MIGRATIONS)
    try:
        uow = SqlUnitOfWork(db, await load_or_create_keys(db, messaging, PARTY))
        first, second, applied = requested("ref-1", 1), requested("ref-2", 2), requested("ref-0", 3)
        reused = requested("ref-3", 2)  # another event with second's number
        async with uow.transaction() as tx:  # applied by an earlier batch
            await tx.claim_ahead([applied])
            assert await tx.claim(applied)
        async with uow.transaction() as tx:
            await tx.claim_ahead([first, first, second, reused, applied])
            assert await tx.claim(first)
            assert not await tx.claim(first)  # the copy
            assert await tx.claim(second)
            assert not await tx.claim(applied)  # a redelivery
            with pytest.raises(Unprocessable, match="sequence 2 of /agencies/pioltello-casa belongs to another"):
                await tx.claim(reused)
        async with db.connect() as session:
            inbox = messaging.inbox.c
            held = set((await session.execute(select(inbox.event_id))).scalars())
            count = (await session.execute(select(func.count()).select_from(messaging.inbox))).scalar_one()
    finally:
        await db.dispose()
    assert held == {first.id, second.id, applied.id} and count == 3


async def test_inbox_items_held_back_for_the_commit_are_seen_by_reads_in_the_transaction(database_url: str) -> None:
    db = Database(database_url)
    await db.migrate(MIGRATIONS)
    now = datetime.now(UTC)
    notice = Notice(
        id="01a22cfd-0000-7000-8000-000000000001",
        kind=NoticeKind.EVENT,
        event="requested",
        referral_id="ref-1",
        sender_agency="pioltello-casa",
        receiver_agency="cpia2",
        service_id="main-service",
        priority="routine",
        status="requested",
        acting_agency="cpia2",
        by_agency="pioltello-casa",
        occurred_at=now,
    )
    try:
        uow = SqlUnitOfWork(db, await load_or_create_keys(db, messaging, PARTY))
        async with uow.transaction() as tx:
            await tx.staff.upsert("cpia2", StaffMember(sub="op-1", name="Operator"), now)
            (person,) = await tx.staff.of_agencies({"cpia2"})
            await tx.items.add(notice, [Told(person.id, Message("A referral", "to read"), "/x")], now)
            assert await tx.items.unread_count(person.id) == 1  # written before the read
        with pytest.raises(IntegrityError):  # the same notice told twice to one person
            async with uow.transaction() as tx:
                await tx.items.add(notice, [Told(person.id, Message("Again", "the same notice"), "/x")], now)
        async with uow.reading() as tx:
            assert await tx.items.unread_count(person.id) == 1
    finally:
        await db.dispose()
