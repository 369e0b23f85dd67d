"""Deliveries by e-mail and webhook: created with the notice, claimed by one sender (of
possibly several replicas) before sending, and every attempt recorded."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from crocevia_notifications.adapters.tables import deliveries, delivery_attempts

c = deliveries.c
PENDING, SENT, FAILED, CANCELLED = "pending", "sent", "failed", "cancelled"


async def add(session: AsyncSession, **values: Any) -> None:
    """Insert a delivery; a second one for the same notice, channel and recipient fails on
    the unique key, and with it the whole transaction."""
    await session.execute(insert(deliveries).values(status=PENDING, attempts=0, **values))


def _claimable(now: datetime, real_now: datetime) -> ColumnElement[bool]:
    return and_(c.status == PENDING, c.due_at <= now, or_(c.claimed_until.is_(None), c.claimed_until < real_now))


async def due(
    session: AsyncSession, channel: str, now: datetime, real_now: datetime, limit: int, exclude: set[str] | None = None
) -> list[RowMapping]:
    query = select(deliveries).where(c.channel == channel, _claimable(now, real_now))
    if exclude:
        query = query.where(c.id.not_in(exclude))
    rows = await session.execute(query.order_by(c.due_at, c.id).limit(limit))
    return list(rows.mappings())


async def claim(
    session: AsyncSession, where: ColumnElement[bool], now: datetime, real_now: datetime, lease: timedelta, replica: str
) -> list[RowMapping]:
    """Claim every claimable delivery matching ``where`` for this sender of ``replica``;
    return what it got (nothing when another sender was first)."""
    token = f"{replica}:{uuid.uuid4().hex[:27]}"
    await session.execute(
        update(deliveries)
        .where(where, _claimable(now, real_now))
        .values(claimed_by=token, claimed_until=real_now + lease)
    )
    rows = await session.execute(select(deliveries).where(c.claimed_by == token).order_by(c.created_at, c.id))
    return list(rows.mappings())


async def release(session: AsyncSession, replica: str) -> None:
    """Give back what ``replica`` claimed and did not finish (it is stopping)."""
    await session.execute(
        update(deliveries)
        .where(c.claimed_by.like(f"{replica}:%"), c.status == PENDING)
        .values(claimed_by=None, claimed_until=None)
    )


def one(delivery_id: str) -> ColumnElement[bool]:
    return c.id == delivery_id


def digest_of(person_id: int, digest_key: str) -> ColumnElement[bool]:
    return and_(c.channel == "email", c.person_id == person_id, c.digest_key == digest_key)


async def record_attempt(
    session: AsyncSession,
    delivery: RowMapping,
    at: datetime,
    *,
    ok: bool,
    status_code: int | None = None,
    error: str | None = None,
    duration_ms: int = 0,
) -> int:
    number = int(delivery["attempts"]) + 1
    await session.execute(
        insert(delivery_attempts).values(
            delivery_id=delivery["id"],
            number=number,
            at=at,
            ok=ok,
            status_code=status_code,
            error=error[:500] if error else None,
            duration_ms=duration_ms,
        )
    )
    return number


async def finish(
    session: AsyncSession, delivery_id: str, status: str, attempts: int, at: datetime, error: str | None = None
) -> None:
    await session.execute(
        update(deliveries)
        .where(c.id == delivery_id)
        .values(
            status=status,
            attempts=attempts,
            sent_at=at if status == SENT else None,
            last_error=error[:500] if error else None,
            claimed_by=None,
            claimed_until=None,
        )
    )


async def retry_at(session: AsyncSession, delivery_id: str, attempts: int, due_at: datetime, error: str) -> None:
    await session.execute(
        update(deliveries)
        .where(c.id == delivery_id)
        .values(
            attempts=attempts,
            due_at=due_at,
            last_error=error[:500],
            claimed_by=None,
            claimed_until=None,
        )
    )


async def cancel_pending_of_webhook(session: AsyncSession, webhook_id: str, reason: str) -> None:
    await session.execute(
        update(deliveries)
        .where(c.webhook_id == webhook_id, c.status == PENDING)
        .values(
            status=CANCELLED,
            last_error=reason[:500],
            claimed_by=None,
            claimed_until=None,
        )
    )


async def of_webhook(session: AsyncSession, webhook_id: str, limit: int, before: str | None) -> list[RowMapping]:
    query = select(deliveries).where(c.webhook_id == webhook_id)
    if before:
        query = query.where(c.id < before)
    rows = await session.execute(query.order_by(c.id.desc()).limit(limit))
    return list(rows.mappings())


async def attempts_of(session: AsyncSession, delivery_ids: list[str]) -> dict[str, list[RowMapping]]:
    rows = await session.execute(
        select(delivery_attempts)
        .where(delivery_attempts.c.delivery_id.in_(delivery_ids))
        .order_by(delivery_attempts.c.delivery_id, delivery_attempts.c.number)
    )
    found: dict[str, list[RowMapping]] = {}
    for row in rows.mappings():
        found.setdefault(row["delivery_id"], []).append(row)
    return found


async def of_person(session: AsyncSession, person_id: int) -> list[RowMapping]:
    rows = await session.execute(select(deliveries).where(c.person_id == person_id).order_by(c.created_at, c.id))
    return list(rows.mappings())
