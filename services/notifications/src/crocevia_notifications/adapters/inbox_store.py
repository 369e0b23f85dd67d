"""The in-app inbox: one item per notice and person; unread first, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common import inputs
from crocevia_common.statements import execute
from crocevia_notifications.adapters.tables import inbox_items
from crocevia_notifications.domain.notices import Notice
from crocevia_notifications.handlers.ports import Told

c = inbox_items.c
_INSERT = insert(inbox_items)


def encode_cursor(row: RowMapping) -> str:
    return inputs.encode_cursor([0 if row["read_at"] is None else 1, row["id"]])


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Raise InvalidCursor (a ValueError) if ``cursor`` is not one this service gave out."""
    value = inputs.decode_cursor(cursor)
    if not isinstance(value, list) or len(value) != 2:
        raise inputs.InvalidCursor("not a cursor of this inbox")
    read, last_id = inputs.cursor_int(value[0], 1), inputs.cursor_int(value[1], inputs.MAX_INT32)
    return read, last_id


class SqlInboxItems:
    """Items added are written together when the transaction ends (``flush``: one statement
    for a batch of events), or before anything of the inbox is read or changed in it."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session
        self._pending: list[dict[str, Any]] = []

    async def flush(self) -> None:
        if self._pending:
            rows, self._pending = self._pending, []
            await execute(self.session, _INSERT, rows)

    async def add(self, notice: Notice, told: Sequence[Told], at: datetime) -> None:
        if not told:
            return
        common = {"notice_id": notice.id, "kind": notice.kind.value, "event": notice.event, "created_at": at}
        rows = [
            {
                **common,
                **notice.referral_facts(),
                "person_id": one.person_id,
                "title": one.message.title[:300],
                "body": one.message.body,
                "link": one.link,
            }
            for one in told
        ]
        self._pending += rows

    async def mark_read(self, person_id: int, item_id: int, at: datetime) -> bool:
        await self.flush()
        await self.session.execute(
            update(inbox_items).where(c.id == item_id, c.person_id == person_id, c.read_at.is_(None)).values(read_at=at)
        )
        return await self.item(person_id, item_id) is not None

    async def item(self, person_id: int, item_id: int) -> RowMapping | None:
        await self.flush()
        found = await self.session.execute(select(inbox_items).where(c.id == item_id, c.person_id == person_id))
        return found.mappings().first()

    async def page(
        self, person_id: int, limit: int, cursor: str | None, unread_only: bool = False
    ) -> tuple[list[RowMapping], str | None]:
        """One page of a person's items, unread first then newest first, and the next cursor."""
        await self.flush()
        is_read = case((c.read_at.is_(None), 0), else_=1)
        query = select(inbox_items).where(c.person_id == person_id)
        if unread_only:
            query = query.where(c.read_at.is_(None))
        if cursor:
            read, last_id = decode_cursor(cursor)
            if read == 0:
                query = query.where(or_(and_(c.read_at.is_(None), c.id < last_id), c.read_at.is_not(None)))
            else:
                query = query.where(c.read_at.is_not(None), c.id < last_id)
        query = query.order_by(is_read, c.id.desc()).limit(limit + 1)
        rows = list((await self.session.execute(query)).mappings())
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, (encode_cursor(rows[-1]) if more and rows else None)

    async def unread_count(self, person_id: int) -> int:
        await self.flush()
        found = await self.session.execute(
            select(func.count()).select_from(inbox_items).where(c.person_id == person_id, c.read_at.is_(None))
        )
        return int(found.scalar_one())

    async def fresh(self, person_id: int, after_id: int, since: datetime, limit: int = 200) -> list[RowMapping]:
        """Items of ``person_id`` after ``after_id`` or made since ``since``, by id. Ids are not
        handed out in commit order when transactions overlap (PostgreSQL), so a live reader
        also looks back a little, and skips what it has sent already."""
        await self.flush()
        rows = await self.session.execute(
            select(inbox_items)
            .where(c.person_id == person_id, or_(c.id > after_id, c.created_at >= since))
            .order_by(c.id)
            .limit(limit)
        )
        return list(rows.mappings())

    async def newest_id(self, person_id: int) -> int:
        await self.flush()
        found = await self.session.execute(select(func.max(c.id)).where(c.person_id == person_id))
        return int(found.scalar_one() or 0)
