"""Inbox of applied events: a redelivered event is applied once, and a publisher's sequence
number names one event only."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_common.messaging.tables import MessagingTables


async def already_applied(session: AsyncSession, tables: MessagingTables, consumer: str, event_id: str) -> bool:
    inbox = tables.inbox
    found = await session.execute(
        select(inbox.c.event_id).where(inbox.c.consumer == consumer, inbox.c.event_id == event_id)
    )
    return found.first() is not None


async def sequence_holder(
    session: AsyncSession, tables: MessagingTables, consumer: str, source: str, sequence: int
) -> str | None:
    """The event this consumer applied as ``source``'s number ``sequence``, if any."""
    c = tables.inbox.c
    found = await session.execute(
        select(c.event_id).where(c.consumer == consumer, c.source == source, c.sequence == sequence)
    )
    return found.scalar_one_or_none()


async def mark_applied(
    session: AsyncSession,
    tables: MessagingTables,
    consumer: str,
    event_id: str,
    source: str | None = None,
    sequence: int | None = None,
) -> None:
    """Record ``event_id`` (``source``'s number ``sequence``) as applied, in the transaction
    that applies it. A concurrent duplicate fails on the keys and its transaction rolls back."""
    await session.execute(
        insert(tables.inbox).values(
            consumer=consumer, event_id=event_id, source=source, sequence=sequence, applied_at=datetime.now(UTC)
        )
    )
