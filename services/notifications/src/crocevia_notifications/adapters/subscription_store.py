"""An agency's own subscriptions, besides the defaults every agency has."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncSession

from crocevia_notifications.adapters.tables import subscriptions
from crocevia_notifications.domain.routing import Scope, Subscription


def subscription(row: RowMapping) -> Subscription:
    return Subscription(
        agency=row["agency"],
        roles=frozenset(row["roles"]),
        topics=frozenset(row["topics"]),
        service_ids=frozenset(row["service_ids"]),
        priorities=frozenset(row["priorities"]),
        scope=Scope(row["scope"]),
        id=row["id"],
    )


async def add(session: AsyncSession, sub: Subscription) -> int:
    done = await session.execute(
        insert(subscriptions)
        .values(
            agency=sub.agency,
            roles=sorted(sub.roles),
            topics=sorted(sub.topics),
            service_ids=sorted(sub.service_ids),
            priorities=sorted(sub.priorities),
            scope=sub.scope.value,
            created_at=datetime.now(UTC),
        )
        .returning(subscriptions.c.id)
    )
    return int(done.scalar_one())


async def of_agencies(session: AsyncSession, agencies: set[str]) -> list[Subscription]:
    rows = await session.execute(
        select(subscriptions).where(subscriptions.c.agency.in_(agencies)).order_by(subscriptions.c.id)
    )
    return [subscription(r) for r in rows.mappings()]


async def remove(session: AsyncSession, agency: str, subscription_id: int) -> bool:
    done = await session.execute(
        delete(subscriptions).where(subscriptions.c.agency == agency, subscriptions.c.id == subscription_id)
    )
    return bool(done.rowcount)  # type: ignore[attr-defined]
