"""Inbox of applied events: a redelivered event is applied once, and a publisher's sequence
number names one event only."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Table, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import upsert, upsert_in
from crocevia_common.messaging.tables import MessagingTables
from crocevia_common.statements import execute


async def applied_as(
    session: AsyncConnection, tables: MessagingTables, consumer: str, event_id: str, source: str, sequence: int
) -> set[str]:
    """The events this consumer applied that are ``event_id`` or were ``source``'s number
    ``sequence`` (one query for both checks)."""
    c = tables.inbox.c
    same = or_(c.event_id == event_id, and_(c.source == source, c.sequence == sequence))
    found = await session.execute(select(c.event_id).where(c.consumer == consumer, same))
    return set(found.scalars())


async def mark_applied(
    session: AsyncConnection,
    tables: MessagingTables,
    consumer: str,
    event_id: str,
    source: str | None = None,
    sequence: int | None = None,
) -> bool:
    """Record ``event_id`` (``source``'s number ``sequence``) as applied, in the transaction
    that applies it; False, recording nothing, when the consumer has that event id or that
    number already (one statement: a concurrent writer of the same row is waited for)."""
    values = {"consumer": consumer, "event_id": event_id, "source": source, "sequence": sequence}
    statement = upsert(session, tables.inbox).values(**values, applied_at=datetime.now(UTC))
    done = await session.execute(statement.on_conflict_do_nothing())
    return bool(done.rowcount)


async def mark_all_applied(
    session: AsyncConnection, tables: MessagingTables, consumer: str, events: Sequence[tuple[str, str, int]]
) -> set[str]:
    """``mark_applied`` for a batch of ``(event_id, source, sequence)`` in one statement: the
    event ids recorded now (each once). One not recorded was applied already, or its number
    or id is another's: ``claim`` it alone to know which."""
    if not events:
        return set()
    now = datetime.now(UTC)
    rows = [
        {"consumer": consumer, "event_id": event_id, "source": source, "sequence": sequence, "applied_at": now}
        for event_id, source, sequence in events
    ]
    statement = _claim_all(session.dialect.name, tables.inbox)
    return set((await execute(session, statement, rows)).scalars())


@functools.cache
def _claim_all(dialect: str, inbox: Table) -> Any:
    """``mark_all_applied``'s statement, made once: the rows are its parameters, sent as one
    INSERT of many rows that returns the event ids it recorded."""
    return upsert_in(dialect, inbox).on_conflict_do_nothing().returning(inbox.c.event_id)
