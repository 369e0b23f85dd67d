"""Inbox of applied event ids: a redelivered event is applied once."""

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


async def mark_applied(session: AsyncSession, tables: MessagingTables, consumer: str, event_id: str) -> None:
    """Record ``event_id`` as applied, in the transaction that applies it. A concurrent
    duplicate fails on the primary key and its transaction rolls back whole."""
    await session.execute(
        insert(tables.inbox).values(consumer=consumer, event_id=event_id, applied_at=datetime.now(UTC))
    )
