"""Each referral's running totals (``referral_totals``): written with the entries in the
append's transaction, read by the indicators, recomputed from the trail by the check."""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, delete, insert, or_, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_audit.adapters.tables import referral_totals, trail_entries
from crocevia_audit.domain.indicators import STEPS, TrailEvent
from crocevia_audit.domain.totals import Totals, fold
from crocevia_common.db import Database

t = referral_totals.c
STEP_COLUMNS = tuple(f"{step.replace('-', '_')}_at" for step in STEPS)
_FACTS = ("referral_id", "sender_agency", "receiver_agency", "service_id", "domain", "priority", "lifecycle")
_COUNTS = ("reason_code", "outcome", "reminders", "escalations")
_CHUNK = 400  # referral ids per IN (...) query
_STREAM = 2000  # rows per fetch of a streamed read


def totals_row(totals: Totals) -> dict[str, Any]:
    return {
        **{name: getattr(totals, name) for name in (*_FACTS, *_COUNTS)},
        **dict(zip(STEP_COLUMNS, totals.steps, strict=True)),
    }


def totals_of(row: Row[Any]) -> Totals:
    values = row._mapping
    return Totals(
        **{name: values[name] for name in (*_FACTS, *_COUNTS)},
        steps=tuple(values[column] for column in STEP_COLUMNS),
    )


def _events_by_referral() -> Select[Any]:
    """Every entry as the indicators see it, by referral, in trail order."""
    c = trail_entries.c
    return select(*(getattr(c, name) for name in TrailEvent.__slots__)).order_by(c.referral_id, c.position)


class TotalsRows:
    """The running totals, in a unit of work's transaction."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, referral_ids: Collection[str]) -> dict[str, Totals]:
        ordered = sorted(set(referral_ids))
        found: dict[str, Totals] = {}
        for start in range(0, len(ordered), _CHUNK):
            query = select(referral_totals).where(t.referral_id.in_(ordered[start : start + _CHUNK]))
            found.update({row.referral_id: totals_of(row) for row in await self.session.execute(query)})
        return found

    async def save(self, totals: Sequence[Totals]) -> None:
        """Write these referrals' totals, replacing the rows they had."""
        ids = [row.referral_id for row in totals]
        for start in range(0, len(ids), _CHUNK):
            await self.session.execute(delete(referral_totals).where(t.referral_id.in_(ids[start : start + _CHUNK])))
        if totals:
            await self.session.execute(insert(referral_totals), [totals_row(row) for row in totals])


class TotalsQueries:
    """Reads of the running totals and of what they are recomputed from; each opens its own
    read session."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def cohort(self, since: datetime | None, until: datetime | None, party: str | None) -> AsyncIterator[Totals]:
        """The totals of the referrals requested in ``[since, until)`` that ``party``
        (every one with none) sends or receives, streamed."""
        query = select(referral_totals).where(t.requested_at.is_not(None))
        if since:
            query = query.where(t.requested_at >= since)
        if until:
            query = query.where(t.requested_at < until)
        if party:
            query = query.where(or_(t.sender_agency == party, t.receiver_agency == party))
        async with self.db.sessions() as session:
            result = await session.stream(query.execution_options(yield_per=_STREAM))
            async for rows in result.partitions():  # a fetch at a time, not a row at a time
                for row in rows:
                    yield totals_of(row)

    async def stored(self) -> dict[str, Totals]:
        """Every stored row of totals, by referral id."""
        async with self.db.sessions() as session:
            stream = await session.stream(select(referral_totals).execution_options(yield_per=_STREAM))
            return {row.referral_id: totals_of(row) async for row in stream}

    async def trail_events(self) -> AsyncIterator[TrailEvent]:
        """Every entry of the trail as the indicators see it, by referral, in trail order."""
        async with self.db.sessions() as session:
            result = await session.stream(_events_by_referral().execution_options(yield_per=_STREAM))
            async for rows in result.partitions():
                for row in rows:
                    yield TrailEvent(*row)


def rebuild(connection: Connection) -> int:
    """Recompute every referral's totals from the trail on ``connection`` (a migration's),
    replacing what is stored, a page of referrals at a time; return how many there are."""
    c = trail_entries.c
    connection.execute(delete(referral_totals))
    written, after = 0, ""
    while True:
        page = select(c.referral_id).where(c.referral_id > after).distinct().order_by(c.referral_id).limit(_CHUNK)
        ids = list(connection.execute(page).scalars())
        if not ids:
            return written
        events = connection.execute(_events_by_referral().where(c.referral_id.in_(ids)))
        rows = [totals_row(totals) for totals in fold(TrailEvent(*row) for row in events)]
        if rows:
            connection.execute(insert(referral_totals), rows)
        written, after = written + len(rows), ids[-1]
