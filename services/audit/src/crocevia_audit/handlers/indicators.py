"""Indicators for a time range, from the trail, with the directory's response targets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.tables import trail_entries
from crocevia_audit.adapters.trail_query import concerning
from crocevia_audit.domain.entries import utc
from crocevia_audit.domain.indicators import Referral, Tally, Target, TargetKey, TrailEvent
from crocevia_common.db import Database

c = trail_entries.c
_CHUNK = 2000


async def _events(
    session: AsyncSession, since: datetime | None, until: datetime | None, party: str | None
) -> AsyncIterator[TrailEvent]:
    """The events of referrals requested in the range, by referral, in trail order. One
    query, streamed (a server-side cursor on PostgreSQL), so memory holds one chunk of
    rows at a time and the cohort is selected once, not once per page."""
    cohort = select(c.referral_id).where(c.event == "requested")
    if since:
        cohort = cohort.where(c.occurred_at >= since)
    if until:
        cohort = cohort.where(c.occurred_at < until)
    if party:
        cohort = cohort.where(concerning(party))
    query = (
        select(
            c.referral_id,
            c.event,
            c.sender_agency,
            c.receiver_agency,
            c.service_id,
            c.domain,
            c.priority,
            c.occurred_at,
            c.reason_code,
            c.outcome,
        )
        .where(c.referral_id.in_(cohort.scalar_subquery()))
        .order_by(c.referral_id, c.position)
        .execution_options(yield_per=_CHUNK)
    )
    async for row in await session.stream(query):
        yield TrailEvent(
            row.referral_id,
            row.event,
            row.sender_agency,
            row.receiver_agency,
            row.service_id,
            row.domain,
            row.priority,
            utc(row.occurred_at),
            row.reason_code,
            row.outcome,
        )


async def compute(
    db: Database,
    *,
    dimensions: Sequence[str],
    targets: Mapping[TargetKey, Target],
    as_of: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    party: str | None = None,
) -> list[dict[str, Any]]:
    """The indicators of the referrals requested in ``[since, until)``, grouped by
    ``dimensions``; ``party`` limits them to referrals where that agency is a party."""
    tally = Tally(dimensions=dimensions, targets=targets, as_of=as_of, since=since, until=until)
    current: Referral | None = None
    async with db.sessions() as session:
        async for event in _events(session, since, until, party):
            if current is None or current.first.referral_id != event.referral_id:
                if current is not None:
                    tally.add(current)
                current = Referral(event)
            current.add(event)
    if current is not None:
        tally.add(current)
    return tally.rows()
