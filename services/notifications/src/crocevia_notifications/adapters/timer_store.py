"""Reminder and escalation timers, kept in the database so they survive restarts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_notifications.adapters.tables import timers

c = timers.c


async def arm(session: AsyncSession, **values: Any) -> bool:
    """Start a timer unless the referral has had this one already; True if started."""
    found = await session.execute(
        select(c.id).where(c.referral_id == values["referral_id"], c.kind == values["kind"], c.stage == values["stage"])
    )
    if found.first() is not None:
        return False
    await session.execute(insert(timers).values(state="pending", **values))
    return True


async def cancel(session: AsyncSession, referral_id: str, stages: list[str], at: datetime) -> None:
    if stages:
        await session.execute(
            update(timers)
            .where(c.referral_id == referral_id, c.state == "pending", c.stage.in_(stages))
            .values(state="cancelled", cancelled_at=at)
        )


async def due(session: AsyncSession, now: datetime, limit: int) -> list[RowMapping]:
    rows = await session.execute(
        select(timers).where(c.state == "pending", c.due_at <= now).order_by(c.due_at, c.id).limit(limit)
    )
    return list(rows.mappings())


async def take(session: AsyncSession, timer_id: str, state: str, at: datetime) -> bool:
    """Move a pending timer to ``state`` (fired or cancelled); False if another replica did
    first. Inside the transaction that acts on it, so acting and taking commit together."""
    values: dict[str, Any] = {"state": state, "fired_at" if state == "fired" else "cancelled_at": at}
    done = await session.execute(update(timers).where(c.id == timer_id, c.state == "pending").values(**values))
    return bool(done.rowcount)  # type: ignore[attr-defined]


async def of_referral(session: AsyncSession, referral_id: str) -> list[RowMapping]:
    rows = await session.execute(select(timers).where(c.referral_id == referral_id).order_by(c.due_at, c.kind))
    return list(rows.mappings())
