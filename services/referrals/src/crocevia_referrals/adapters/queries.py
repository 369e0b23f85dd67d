"""The node's reads: its referrals, filtered and paged newest first, one referral, who it
was assigned to, and the pathways the agency leads."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.engine import RowMapping

from crocevia_common import inputs
from crocevia_common.db import Database
from crocevia_contracts.lifecycle import OPEN, Side, Status
from crocevia_referrals.adapters.repository import SqlReferrals, reads, redirected, referral_of
from crocevia_referrals.adapters.tables import assignments, referrals
from crocevia_referrals.domain.caseload import Assignment
from crocevia_referrals.domain.referral import DIRECTIONS, Referral
from crocevia_referrals.domain.waiting import CHASED, WORK


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
    pathway_id: str | None = None


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


def may_wait() -> ColumnElement[bool]:
    """``waiting.may_wait`` in SQL: what may wait for this agency before due times are known."""
    c = referrals.c
    on = {side: c.direction == DIRECTIONS[side] for side in Side}
    asked = {Side.SENDER: c.question_to_sender_at, Side.RECEIVER: c.question_to_receiver_at}
    chased = [s.value for s in CHASED]
    candidates = or_(
        *(and_(on[side], asked[side].is_not(None)) for side in Side),
        *(and_(on[side], c.status.in_([s.value for s in WORK[side]])) for side in Side),
        and_(on[Side.SENDER], c.status.in_(chased)),
    )
    handled = or_(redirected(), c.closed_at.is_not(None))  # ``Referral.rejection_handled``
    return and_(candidates, or_(c.status != Status.REJECTED.value, ~handled))


class SqlReads:
    """Reads in their own session; nothing is locked."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def one(self, referral_id: str) -> Referral | None:
        """The referral with its whole history, as one moment saw them both."""
        async with self.db.snapshot(short=True) as session:
            return await SqlReferrals(session, locking=False).get(referral_id)

    async def search(self, flt: ListFilter, limit: int, cursor: str | None) -> tuple[list[Referral], str | None]:
        """Referrals newest first (without their history), one page, and the cursor of the
        next page (None at the end); raise InvalidCursor for a cursor this node did not give."""
        c = referrals.c
        query = reads()
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
            query = query.where(may_wait())
        if flt.assignee:
            query = query.where(c.assignee == flt.assignee)
        for word in flt.person_words:
            query = query.where(c.person_search.like(_like(word), escape="\\"))
        if flt.created_from:
            query = query.where(c.created_at >= flt.created_from)
        if flt.created_before:
            query = query.where(c.created_at < flt.created_before)
        if flt.pathway_id:
            query = query.where(c.pathway_id == flt.pathway_id)
        if not flt.include_closed:
            query = query.where(c.status.in_(sorted(s.value for s in OPEN)))
        if cursor:
            created, last_id = decode_cursor(cursor)
            query = query.where(or_(c.created_at < created, and_(c.created_at == created, c.id < last_id)))
        query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
        async with self.db.connect() as session:
            rows = list((await session.execute(query)).mappings())
        more = len(rows) > limit
        rows = rows[:limit]
        return [referral_of(row) for row in rows], (encode_cursor(rows[-1]) if more and rows else None)

    async def assignments(self, referral_id: str) -> list[Assignment]:
        """Every assignment of a referral, oldest first."""
        c = assignments.c
        query = select(assignments).where(c.referral_id == referral_id).order_by(c.position)
        async with self.db.connect() as session:
            rows = (await session.execute(query)).mappings()
            return [Assignment(r["referral_id"], r["assignee"], r["previous"], r["assigned_by"], r["at"]) for r in rows]

    async def pathways(self, lead_agency: str, limit: int) -> list[str]:
        """The ids of the pathways ``lead_agency`` leads, the newest first."""
        c = referrals.c
        newest = func.max(c.created_at)
        query = (
            select(c.pathway_id)
            .where(c.pathway_lead == lead_agency, c.direction == DIRECTIONS[Side.SENDER])
            .group_by(c.pathway_id)
            .order_by(newest.desc(), c.pathway_id.desc())
            .limit(limit)
        )
        async with self.db.connect() as session:
            return [row[0] for row in await session.execute(query)]
