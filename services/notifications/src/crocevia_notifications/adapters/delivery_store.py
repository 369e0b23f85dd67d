"""Deliveries by e-mail and webhook: created with the notice, claimed by one sender (of
possibly several replicas) before sending, and every attempt recorded."""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from crocevia_notifications.adapters.tables import deliveries, delivery_attempts, from_row, row_of
from crocevia_notifications.domain.deliveries import (
    Attempt,
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
)

c = deliveries.c


def as_delivery(row: RowMapping) -> Delivery:
    payload = row["payload"]
    return from_row(
        Delivery,
        row,
        channel=DeliveryChannel(row["channel"]),
        status=DeliveryStatus(row["status"]),
        payload=payload if isinstance(payload, dict) else json.loads(payload),
    )


def _claimable(now: datetime, real_now: datetime) -> ColumnElement[bool]:
    return and_(
        c.status == DeliveryStatus.PENDING,
        c.due_at <= now,
        or_(c.claimed_until.is_(None), c.claimed_until < real_now),
    )


def _unclaimed(**values: object) -> dict[str, object]:
    return {**values, "claimed_by": None, "claimed_until": None}


class SqlDeliveries:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def add(self, added: Sequence[Delivery]) -> None:
        if added:
            await self.session.execute(insert(deliveries), [row_of(delivery) for delivery in added])

    async def due(
        self, channel: DeliveryChannel, now: datetime, real_now: datetime, limit: int, exclude: Collection[str] = ()
    ) -> list[Delivery]:
        query = select(deliveries).where(c.channel == channel, _claimable(now, real_now))
        if exclude:
            query = query.where(c.id.not_in(list(exclude)))
        rows = await self.session.execute(query.order_by(c.due_at, c.id).limit(limit))
        return [as_delivery(row) for row in rows.mappings()]

    async def claim(
        self, delivery: Delivery, now: datetime, real_now: datetime, lease: timedelta, replica: str
    ) -> list[Delivery]:
        """A conditional update: whichever sender's update matches first has it."""
        if delivery.digest_key and delivery.channel is DeliveryChannel.EMAIL:
            where = and_(
                c.channel == delivery.channel, c.person_id == delivery.person_id, c.digest_key == delivery.digest_key
            )
        else:
            where = c.id == delivery.id
        token = f"{replica}:{uuid.uuid4().hex[:27]}"
        await self.session.execute(
            update(deliveries)
            .where(where, _claimable(now, real_now))
            .values(claimed_by=token, claimed_until=real_now + lease)
        )
        rows = await self.session.execute(select(deliveries).where(c.claimed_by == token).order_by(c.created_at, c.id))
        return [as_delivery(row) for row in rows.mappings()]

    async def release(self, replica: str) -> None:
        await self.session.execute(
            update(deliveries)
            .where(c.claimed_by.like(f"{replica}:%"), c.status == DeliveryStatus.PENDING)
            .values(**_unclaimed())
        )

    async def record_attempt(self, delivery: Delivery, attempt: Attempt) -> int:
        number = delivery.attempts + 1
        await self.session.execute(
            insert(delivery_attempts).values(
                delivery_id=delivery.id,
                number=number,
                at=attempt.at,
                ok=attempt.ok,
                status_code=attempt.status_code,
                error=attempt.error[:500] if attempt.error else None,
                duration_ms=attempt.duration_ms,
            )
        )
        return number

    async def finish(
        self, delivery_id: str, status: DeliveryStatus, attempts: int, at: datetime, error: str | None = None
    ) -> None:
        values = _unclaimed(
            status=status.value,
            attempts=attempts,
            sent_at=at if status is DeliveryStatus.SENT else None,
            last_error=error[:500] if error else None,
        )
        await self.session.execute(update(deliveries).where(c.id == delivery_id).values(**values))

    async def retry_at(self, delivery_id: str, attempts: int, due_at: datetime, error: str) -> None:
        values = _unclaimed(attempts=attempts, due_at=due_at, last_error=error[:500])
        await self.session.execute(update(deliveries).where(c.id == delivery_id).values(**values))

    async def cancel_pending_of_webhook(self, webhook_id: str, reason: str) -> None:
        await self.session.execute(
            update(deliveries)
            .where(c.webhook_id == webhook_id, c.status == DeliveryStatus.PENDING)
            .values(**_unclaimed(status=DeliveryStatus.CANCELLED.value, last_error=reason[:500]))
        )

    # -- reads ----------------------------------------------------------------------------

    async def of_webhook(self, webhook_id: str, limit: int, before: str | None) -> list[RowMapping]:
        query = select(deliveries).where(c.webhook_id == webhook_id)
        if before:
            query = query.where(c.id < before)
        rows = await self.session.execute(query.order_by(c.id.desc()).limit(limit))
        return list(rows.mappings())

    async def attempts_of(self, delivery_ids: list[str]) -> dict[str, list[RowMapping]]:
        a = delivery_attempts.c
        rows = await self.session.execute(
            select(delivery_attempts).where(a.delivery_id.in_(delivery_ids)).order_by(a.delivery_id, a.number)
        )
        found: dict[str, list[RowMapping]] = {}
        for row in rows.mappings():
            found.setdefault(row["delivery_id"], []).append(row)
        return found
