"""An agency's own subscriptions, besides the defaults every agency has."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.statements import execute
from crocevia_notifications.adapters.read_once import ReadOnce
from crocevia_notifications.adapters.tables import subscriptions
from crocevia_notifications.domain.routing import Scope, Subscription

c = subscriptions.c
_OF_AGENCIES = select(subscriptions).where(c.agency.in_(bindparam("agencies", expanding=True))).order_by(c.id)


def subscription(row: Mapping[Any, Any]) -> Subscription:
    return Subscription(
        agency=row["agency"],
        roles=frozenset(row["roles"]),
        topics=frozenset(row["topics"]),
        service_ids=frozenset(row["service_ids"]),
        priorities=frozenset(row["priorities"]),
        scope=Scope(row["scope"]),
        id=row["id"],
    )


class SqlSubscriptions:
    def __init__(self, session: AsyncConnection) -> None:
        self.session = session
        self._of_agencies: ReadOnce[Subscription] = ReadOnce(lambda s: s.agency, lambda s: s.id or 0)

    async def add(self, subscription: Subscription, at: datetime) -> int:
        self._of_agencies.forget()
        done = await self.session.execute(
            insert(subscriptions)
            .values(
                agency=subscription.agency,
                roles=sorted(subscription.roles),
                topics=sorted(subscription.topics),
                service_ids=sorted(subscription.service_ids),
                priorities=sorted(subscription.priorities),
                scope=subscription.scope.value,
                created_at=at,
            )
            .returning(c.id)
        )
        return int(done.scalar_one())

    async def of_agencies(self, agencies: Collection[str]) -> list[Subscription]:
        return await self._of_agencies.get(agencies, self._read_of_agencies)

    async def _read_of_agencies(self, agencies: list[str]) -> list[Subscription]:
        rows = await execute(self.session, _OF_AGENCIES, {"agencies": agencies})
        return [subscription(r) for r in rows.mappings()]

    async def remove(self, agency: str, subscription_id: int) -> bool:
        self._of_agencies.forget()
        done = await self.session.execute(delete(subscriptions).where(c.agency == agency, c.id == subscription_id))
        return bool(done.rowcount)
