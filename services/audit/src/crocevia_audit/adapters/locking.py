"""One writer of the trail at a time, across replicas.

The tree grows from its stored border, so two writers must not interleave. On SQLite the
shared ``Database.transaction`` already takes the write lock first (``BEGIN IMMEDIATE``);
on PostgreSQL a transaction-scoped advisory lock does the same for the trail's writers.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.statements import execute

TRAIL_LOCK = 7201120003  # any constant the other services' locks do not use
_LOCK = select(func.pg_advisory_xact_lock(bindparam("key")))


async def lock_trail(session: AsyncConnection) -> None:
    """Wait for the trail's write lock; it is released when the transaction ends."""
    if session.dialect.name == "postgresql":
        await execute(session, _LOCK, {"key": TRAIL_LOCK})
