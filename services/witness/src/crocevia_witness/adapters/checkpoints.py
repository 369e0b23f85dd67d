"""The cosigned checkpoints in SQL: the unit of work of :mod:`..handlers.add_checkpoint`,
and the reads of the monitoring endpoint."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database, insert_missing
from crocevia_witness.adapters.tables import cosigned_checkpoints as t
from crocevia_witness.domain.witnessing import TreeHead


class SqlCosignedCheckpoints:
    """The cosigned checkpoints, read and written in one database transaction."""

    def __init__(self, session: AsyncConnection) -> None:
        self.session = session

    async def held(self, origin: str) -> TreeHead | None:
        # The row is made if missing, then locked: PostgreSQL's FOR UPDATE holds a second
        # submission here until this transaction ends (SQLite's BEGIN IMMEDIATE already did).
        await insert_missing(self.session, t, {"origin": origin})
        row = (
            await self.session.execute(select(t.c.size, t.c.root).where(t.c.origin == origin).with_for_update())
        ).one()
        return None if row.size is None else TreeHead(int(row.size), bytes(row.root))

    async def record(self, origin: str, head: TreeHead, note: str, at: datetime) -> None:
        await self.session.execute(
            update(t).where(t.c.origin == origin).values(size=head.size, root=head.root, note=note, cosigned_at=at)
        )


def transactions(db: Database) -> Callable[[], AbstractAsyncContextManager[SqlCosignedCheckpoints]]:
    """Each call opens one transaction of ``db`` over the cosigned checkpoints."""

    @asynccontextmanager
    async def transaction() -> AsyncIterator[SqlCosignedCheckpoints]:
        async with db.transaction() as session:
            yield SqlCosignedCheckpoints(session)

    return transaction


async def cosigned_note(db: Database, origin: str) -> str | None:
    """The checkpoint of ``origin`` cosigned last, with its signatures; None before the first."""
    async with db.connect() as session:
        return (await session.execute(select(t.c.note).where(t.c.origin == origin))).scalar_one_or_none()
