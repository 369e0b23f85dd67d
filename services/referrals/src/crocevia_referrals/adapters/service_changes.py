"""The changes a node's supervisors made to their services, kept so a restart publishes
them again."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from crocevia_common.db import Database, insert_missing
from crocevia_referrals.adapters.tables import service_changes


class SqlServiceChanges:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> dict[str, dict[str, Any]]:
        """Every service's kept changes, by service id."""
        async with self.db.connect() as session:
            rows = await session.execute(select(service_changes.c.service_id, service_changes.c.changes))
            return {row.service_id: dict(row.changes) for row in rows}

    async def keep(self, service_id: str, values: dict[str, Any], by: str, at: datetime) -> dict[str, Any]:
        """Add ``values`` to the service's kept changes; all of them now."""
        t = service_changes
        async with self.db.transaction() as session:
            await insert_missing(
                session, t, {"service_id": service_id, "changes": {}, "updated_by": by, "updated_at": at}
            )
            found = (await session.execute(select(t.c.changes).where(t.c.service_id == service_id))).scalar_one()
            merged = {**dict(found), **values}
            await session.execute(
                t.update().where(t.c.service_id == service_id).values(changes=merged, updated_by=by, updated_at=at)
            )
        return merged
