"""One writer of the trail at a time, across replicas.

The tree grows from its stored border, so two writers must not interleave. On SQLite the
shared ``Database.transaction`` already takes the write lock first (``BEGIN IMMEDIATE``);
on PostgreSQL a transaction-scoped advisory lock does the same for the trail's writers.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

TRAIL_LOCK = 7201120003  # any constant the other services' locks do not use


async def lock_trail(session: AsyncConnection) -> None:
    """Wait for the trail's write lock; it is released when the transaction ends."""
    if session.dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": TRAIL_LOCK})
