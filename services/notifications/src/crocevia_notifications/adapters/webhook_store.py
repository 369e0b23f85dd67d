"""Webhook endpoints of the agencies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_notifications.adapters.tables import webhooks


async def add(session: AsyncSession, **values: Any) -> None:
    await session.execute(insert(webhooks).values(active=True, **values))


async def get(session: AsyncSession, webhook_id: str) -> RowMapping | None:
    found = await session.execute(select(webhooks).where(webhooks.c.id == webhook_id))
    return found.mappings().first()


async def of_agency(session: AsyncSession, agency: str) -> list[RowMapping]:
    query = select(webhooks).where(webhooks.c.agency == agency).order_by(webhooks.c.created_at, webhooks.c.id)
    return list((await session.execute(query)).mappings())


async def active_of(session: AsyncSession, agencies: set[str]) -> list[RowMapping]:
    rows = await session.execute(
        select(webhooks).where(webhooks.c.agency.in_(agencies), webhooks.c.active.is_(True)).order_by(webhooks.c.id)
    )
    return list(rows.mappings())


async def disable(session: AsyncSession, webhook_id: str, at: datetime, reason: str) -> None:
    await session.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id, webhooks.c.active.is_(True))
        .values(active=False, disabled_at=at, disabled_reason=reason[:200])
    )


async def rotate(session: AsyncSession, webhook_id: str, secret: str, previous_until: datetime | None) -> None:
    """A new secret; the current one stays as the previous one until ``previous_until``."""
    await session.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(
            previous_secret=webhooks.c.secret if previous_until is not None else None,
            previous_secret_until=previous_until,
            secret=secret,
        )
    )


async def enable(session: AsyncSession, webhook_id: str) -> None:
    await session.execute(
        update(webhooks).where(webhooks.c.id == webhook_id).values(active=True, disabled_at=None, disabled_reason=None)
    )
