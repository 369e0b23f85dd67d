"""The public facts of the referrals this service follows."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_notifications.adapters.tables import referrals


async def get(session: AsyncSession, referral_id: str) -> RowMapping | None:
    found = await session.execute(select(referrals).where(referrals.c.id == referral_id))
    return found.mappings().first()


async def follow(session: AsyncSession, referral_id: str, at: datetime, **facts: Any) -> RowMapping:
    """Record what an event says of its referral (creating the row on the first event)."""
    current = await get(session, referral_id)
    if current is None:
        first = {**facts, "status": facts.get("status") or "unknown"}
        await session.execute(insert(referrals).values(id=referral_id, updated_at=at, **first))
    else:
        changes = {k: v for k, v in facts.items() if v is not None}
        await session.execute(update(referrals).where(referrals.c.id == referral_id).values(updated_at=at, **changes))
    found = await get(session, referral_id)
    assert found is not None
    return found
