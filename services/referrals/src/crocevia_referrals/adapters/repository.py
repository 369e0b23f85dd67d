"""Reading and writing a node's referrals and their history."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_common import inputs
from crocevia_referrals.adapters.tables import history, idempotency_keys, referrals


async def get(session: AsyncSession, referral_id: str, for_update: bool = False) -> RowMapping | None:
    """The referral's row; ``for_update`` locks it until the transaction ends, so that two
    concurrent steps on one referral are decided one after the other."""
    query = select(referrals).where(referrals.c.id == referral_id)
    row = await session.execute(query.with_for_update() if for_update else query)
    return row.mappings().first()


async def add(session: AsyncSession, **values: Any) -> None:
    now = datetime.now(UTC)
    await session.execute(insert(referrals).values(created_at=now, updated_at=now, our_step=0, their_step=0, **values))


async def next_step(session: AsyncSession, referral_id: str) -> int:
    """Count one more event sent by this node about the referral; return its step."""
    bumped = await session.execute(
        update(referrals)
        .where(referrals.c.id == referral_id)
        .values(our_step=referrals.c.our_step + 1)
        .returning(referrals.c.our_step)
    )
    return int(bumped.scalar_one())


async def change(session: AsyncSession, referral_id: str, **values: Any) -> None:
    await session.execute(
        update(referrals).where(referrals.c.id == referral_id).values(updated_at=datetime.now(UTC), **values)
    )


async def record(
    session: AsyncSession,
    *,
    referral_id: str,
    event_id: str,
    event: str,
    by_agency: str,
    status: str,
    at: datetime,
    by_user: str | None = None,
    details: dict[str, Any] | None = None,
    note: str | None = None,
) -> None:
    await session.execute(
        insert(history).values(
            referral_id=referral_id,
            event_id=event_id,
            event=event,
            by_agency=by_agency,
            by_user=by_user,
            status=status,
            at=at,
            details=details or {},
            note=note,
        )
    )


async def timeline(session: AsyncSession, referral_id: str) -> list[RowMapping]:
    rows = await session.execute(
        select(history).where(history.c.referral_id == referral_id).order_by(history.c.position)
    )
    return list(rows.mappings())


async def erase_notes(session: AsyncSession, referral_id: str) -> None:
    await session.execute(update(history).where(history.c.referral_id == referral_id).values(note=None))


@dataclass
class ListFilter:
    direction: str | None = None
    statuses: list[str] = field(default_factory=list)
    counterpart: str | None = None
    service_id: str | None = None
    priority: str | None = None
    waiting_statuses: dict[str, list[str]] | None = None  # direction -> statuses that wait for us


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


async def search(
    session: AsyncSession, flt: ListFilter, limit: int, cursor: str | None
) -> tuple[list[RowMapping], str | None]:
    """Referrals newest first, one page, and the cursor of the next page (None at the end)."""
    c = referrals.c
    query = select(referrals)
    if flt.direction:
        query = query.where(c.direction == flt.direction)
    if flt.statuses:
        query = query.where(c.status.in_(flt.statuses))
    if flt.counterpart:
        query = query.where(or_(c.sender_agency == flt.counterpart, c.receiver_agency == flt.counterpart))
    if flt.service_id:
        query = query.where(c.service_id == flt.service_id)
    if flt.priority:
        query = query.where(c.priority == flt.priority)
    if flt.waiting_statuses is not None:
        query = query.where(or_(*(and_(c.direction == d, c.status.in_(s)) for d, s in flt.waiting_statuses.items())))
    if cursor:
        created, last_id = decode_cursor(cursor)
        query = query.where(or_(c.created_at < created, and_(c.created_at == created, c.id < last_id)))
    rows = list((await session.execute(query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1))).mappings())
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, (encode_cursor(rows[-1]) if more and rows else None)


async def idempotent(session: AsyncSession, key: str) -> RowMapping | None:
    found = await session.execute(select(idempotency_keys).where(idempotency_keys.c.key == key))
    return found.mappings().first()


async def remember(session: AsyncSession, key: str, request_sha256: str, referral_id: str) -> None:
    await session.execute(
        insert(idempotency_keys).values(
            key=key, request_sha256=request_sha256, referral_id=referral_id, created_at=datetime.now(UTC)
        )
    )
