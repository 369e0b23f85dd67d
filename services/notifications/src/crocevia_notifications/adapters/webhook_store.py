"""Webhook endpoints of the agencies."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.statements import execute
from crocevia_notifications.adapters.read_once import ReadOnce
from crocevia_notifications.adapters.tables import from_row, webhooks
from crocevia_notifications.domain.webhooks import Endpoint

c = webhooks.c
_ACTIVE_OF = (
    select(webhooks).where(c.agency.in_(bindparam("agencies", expanding=True)), c.active.is_(True)).order_by(c.id)
)


def endpoint(row: Mapping[Any, Any]) -> Endpoint:
    return from_row(Endpoint, row, topics=list(row["topics"]))


class SqlWebhooks:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session
        self._active_of: ReadOnce[Endpoint] = ReadOnce(lambda e: e.agency, lambda e: e.id)

    async def add(self, endpoint: Endpoint) -> None:
        self._active_of.forget()
        await self.session.execute(insert(webhooks).values(**dataclasses.asdict(endpoint)))

    async def get(self, webhook_id: str) -> Endpoint | None:
        found = await self.session.execute(select(webhooks).where(c.id == webhook_id))
        row = found.mappings().first()
        return endpoint(row) if row is not None else None

    async def of_agency(self, agency: str) -> list[Endpoint]:
        rows = await self.session.execute(select(webhooks).where(c.agency == agency).order_by(c.created_at, c.id))
        return [endpoint(row) for row in rows.mappings()]

    async def active_of(self, agencies: Collection[str]) -> list[Endpoint]:
        return await self._active_of.get(agencies, self._read_active_of)

    async def _read_active_of(self, agencies: list[str]) -> list[Endpoint]:
        rows = await execute(self.session, _ACTIVE_OF, {"agencies": agencies})
        return [endpoint(row) for row in rows.mappings()]

    async def disable(self, webhook_id: str, at: datetime, reason: str) -> None:
        self._active_of.forget()
        await self.session.execute(
            update(webhooks)
            .where(c.id == webhook_id, c.active.is_(True))
            .values(active=False, disabled_at=at, disabled_reason=reason[:200])
        )

    async def rotate(self, webhook_id: str, secret: str, previous_until: datetime | None) -> None:
        """A new secret; the current one stays as the previous one until ``previous_until``."""
        self._active_of.forget()
        await self.session.execute(
            update(webhooks)
            .where(c.id == webhook_id)
            .values(
                previous_secret=c.secret if previous_until is not None else None,
                previous_secret_until=previous_until,
                secret=secret,
            )
        )

    async def enable(self, webhook_id: str) -> None:
        self._active_of.forget()
        await self.session.execute(
            update(webhooks).where(c.id == webhook_id).values(active=True, disabled_at=None, disabled_reason=None)
        )
