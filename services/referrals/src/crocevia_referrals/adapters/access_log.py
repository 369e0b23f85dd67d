"""The access log's SQL: appending after the head under the log's lock, the anchors, and the
reads (filtered pages newest first, the whole chain in order for a verification)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common import inputs
from crocevia_common.db import Database
from crocevia_referrals.adapters.tables import access_log, access_log_anchors
from crocevia_referrals.domain.access_log import EMPTY, AccessEntry, Head

c = access_log.c
a = access_log_anchors.c
# On PostgreSQL appends queue on this lock (SQLite's writers hold the file's write lock).
_LOG_LOCK = 7201120003
_CHUNK = 2000


def entry_of(row: RowMapping) -> AccessEntry:
    return AccessEntry(**{name: row[name] for name in AccessEntry.__slots__})


def _head_of(row: Any) -> Head | None:
    return Head(int(row[0]), str(row[1])) if row is not None else None


class SqlAccessLog:
    """The log inside one transaction."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def head(self) -> Head:
        """The last entry, locked until the transaction ends: no other append comes between."""
        if self.session.dialect.name == "postgresql":
            await self.session.execute(text(f"SELECT pg_advisory_xact_lock({_LOG_LOCK})"))
        last = select(c.position, c.entry_sha256).order_by(c.position.desc()).limit(1)
        return _head_of((await self.session.execute(last)).first()) or EMPTY

    async def append(self, entries: Sequence[AccessEntry]) -> None:
        rows = [{n: getattr(entry, n) for n in AccessEntry.__slots__} for entry in entries]
        if rows:
            await self.session.execute(insert(access_log), rows)

    async def last_anchor(self) -> Head | None:
        return await last_anchor(self.session)

    async def anchored(self, head: Head, event_id: str, at: datetime) -> None:
        values = {"entries": head.entries, "head_sha256": head.head_sha256, "event_id": event_id, "anchored_at": at}
        await self.session.execute(insert(access_log_anchors).values(**values))


async def last_anchor(session: AsyncConnection) -> Head | None:
    last = select(a.entries, a.head_sha256).order_by(a.entries.desc()).limit(1)
    return _head_of((await session.execute(last)).first())


@dataclass(frozen=True)
class AccessFilter:
    referral_id: str | None = None
    staff: str | None = None


class SqlAccessReads:
    """Reads in their own session; nothing is locked."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def page(self, flt: AccessFilter, limit: int, cursor: str | None) -> tuple[list[AccessEntry], str | None]:
        """Entries newest first, one page, and the next page's cursor (None at the end);
        raise InvalidCursor for a cursor this node did not give."""
        query = select(access_log)
        if flt.referral_id:
            query = query.where(c.referral_id == flt.referral_id)
        if flt.staff:
            query = query.where(c.staff == flt.staff)
        if cursor:
            below = inputs.decode_cursor(cursor)
            if not isinstance(below, int) or isinstance(below, bool) or not 0 < below < 2**31:
                raise inputs.InvalidCursor("not a cursor of this listing")
            query = query.where(c.position < below)
        query = query.order_by(c.position.desc()).limit(limit + 1)
        async with self.db.connect() as session:
            rows = list((await session.execute(query)).mappings())
        more = len(rows) > limit
        entries = [entry_of(row) for row in rows[:limit]]
        return entries, (inputs.encode_cursor(entries[-1].position) if more and entries else None)

    async def chain(self) -> AsyncIterator[AccessEntry]:
        """Every entry in position order, streamed."""
        query = select(access_log).order_by(c.position).execution_options(yield_per=_CHUNK)
        async with self.db.connect() as session:
            async for row in (await session.stream(query)).mappings():
                yield entry_of(row)

    async def last_anchor(self) -> Head | None:
        async with self.db.connect() as session:
            return await last_anchor(session)
