"""The trail's unit of work: one transaction under the trail's write lock, with its stores.

Every write of the audit goes through it (appends, checkpoints, raised gaps), so writers
never interleave, on one replica or several: SQLite's ``BEGIN IMMEDIATE`` (the shared
``Database.transaction``) or a PostgreSQL advisory lock (``locking.lock_trail``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_audit.adapters.locking import lock_trail
from crocevia_audit.adapters.sequences import SequenceRows
from crocevia_audit.adapters.stores import AnomalyRows, CheckpointRows, CosignatureRows, EntryRows, GapRows, OutboxRows
from crocevia_audit.adapters.totals import TotalsRows
from crocevia_audit.adapters.tree import NodeRows
from crocevia_common.db import Database


class SqlTrailWork:
    """The stores of one transaction (``handlers.ports.TrailWork``)."""

    def __init__(self, session: AsyncConnection) -> None:
        self.entries = EntryRows(session)
        self.nodes = NodeRows(session)
        self.totals = TotalsRows(session)
        self.checkpoints = CheckpointRows(session)
        self.cosignatures = CosignatureRows(session)
        self.sequences = SequenceRows(session)
        self.gaps = GapRows(session)
        self.anomalies = AnomalyRows(session)
        self.outbox = OutboxRows(session)


def unit_of_work(db: Database) -> Callable[[], AbstractAsyncContextManager[SqlTrailWork]]:
    """Begin a unit of work on ``db``: committed when its block ends, rolled back if it raises."""

    @asynccontextmanager
    async def begin() -> AsyncIterator[SqlTrailWork]:
        async with db.transaction() as session:
            await lock_trail(session)
            yield SqlTrailWork(session)

    return begin
