"""The node's reads: its referrals, filtered and paged newest first, one referral, and who
it was assigned to."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.engine import RowMapping

from crocevia_common import inputs
from crocevia_common.db import Database
from crocevia_contracts.lifecycle import OPEN, Status
from crocevia_referrals.adapters.repository import SqlReferrals, referral_of, requested_at
from crocevia_referrals.adapters.tables import assignments, referrals
from crocevia_referrals.domain.caseload import Assignment
from crocevia_referrals.domain.referral import DIRECTIONS, WAITING_FOR_US, Referral


@dataclass(frozen=True)
class ListFilter:
    direction: str | None = None
    statuses: list[Status] = field(default_factory=list)
    counterpart: str | None = None
    service_id: str | None = None
    priority: str | None = None
    waiting_for_us: bool = False
    assignee: str | None = None
    # Words that must each appear in the person's folded details (``caseload.search_words``).
    person_words: list[str] = field(default_factory=list)
    created_from: datetime | None = None  # inclusive
    created_before: datetime | None = None  # exclusive
    include_closed: bool = True


def _like(word: str) -> str:
    """A LIKE pattern that finds ``word`` anywhere, its own ``%``, ``_`` and ``\\`` taken
    literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def encode_cursor(row: RowMapping) -> str:
    return inputs.encode_cursor([row["created_at"].isoformat(), row["id"]])


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    """Raise InvalidCursor (a ValueError) if ``cursor`` is not one this node gave out."""
    value = inputs.decode_cursor(cursor)
    if not isinstance(value, list) or len(value) != 2:
        raise inputs.InvalidCursor("not a cursor of this listing")
    created, referral_id = inputs.cursor_text(value[0]), inputs.cursor_text(value[1])
    try:
        return inputs.in_calendar(datetime.fromisoformat(created)), referral_id
    except ValueError:
        raise inputs.InvalidCursor("not a cursor of this listing") from None


class SqlReads:
    """Reads in their own session; nothing is locked."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def one(self, referral_id: str) -> Referral | None:
        """The referral with its whole history."""
        async with self.db.sessions() as session:
            return await SqlReferrals(session, locking=False).get(referral_id)

    async def search(self, flt: ListFilter, limit: int, cursor: str | None) -> tuple[list[Referral], str | None]:
        """Referrals newest first (without their history), one page, and the cursor of the
        next page (None at the end); raise InvalidCursor for a cursor this node did not give."""
        c = referrals.c
        query = select(referrals, requested_at())
        if flt.direction:
            query = query.where(c.direction == flt.direction)
        if flt.statuses:
            query = query.where(c.status.in_([s.value for s in flt.statuses]))
        if flt.counterpart:
            query = query.where(or_(c.sender_agency == flt.counterpart, c.receiver_agency == flt.counterpart))
        if flt.service_id:
            query = query.where(c.service_id == flt.service_id)
        if flt.priority:
            query = query.where(c.priority == flt.priority)
        if flt.waiting_for_us:
            waiting = [(DIRECTIONS[side], [s.value for s in statuses]) for side, statuses in WAITING_FOR_US.items()]
            query = query.where(or_(*(and_(c.direction == d, c.status.in_(s)) for d, s in waiting)))
        if flt.assignee:
            query = query.where(c.assignee == flt.assignee)
        for word in flt.person_words:
            query = query.where(c.person_search.like(_like(word), escape="\\"))
        if flt.created_from:
            query = query.where(c.created_at >= flt.created_from)
        if flt.created_before:
            query = query.where(c.created_at < flt.created_before)
        if not flt.include_closed:
            query = query.where(c.status.in_(sorted(s.value for s in OPEN)))
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(or_(c.created_at < created, and_(c.created_at == created, c.id < last_id)))
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
        async with self.db.sessions() as session:
            rows = list((await session.execute(query)).mappings())
        more = len(rows) > limit
        rows = rows[:limit]
        return [referral_of(row) for row in rows], (encode_cursor(rows[-1]) if more and rows else None)

    async def assignments(self, referral_id: str) -> list[Assignment]:
        """Every assignment of a referral, oldest first."""
        c = assignments.c
        query = select(assignments).where(c.referral_id == referral_id).order_by(c.position)
        async with self.db.sessions() as session:
            rows = (await session.execute(query)).mappings()
            return [Assignment(r["referral_id"], r["assignee"], r["previous"], r["assigned_by"], r["at"]) for r in rows]
