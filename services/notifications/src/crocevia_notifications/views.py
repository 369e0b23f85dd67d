"""Every read the HTTP API, the event stream and the pages make, each in a read-only session
(writes go through ``handlers/``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import RowMapping

from crocevia_notifications.adapters.unit_of_work import SqlUnitOfWork
from crocevia_notifications.domain.routing import Subscription
from crocevia_notifications.domain.staff import Person
from crocevia_notifications.domain.webhooks import Endpoint


@dataclass(frozen=True, slots=True)
class InboxPage:
    items: list[RowMapping]
    next_cursor: str | None
    unread: int


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    items: list[tuple[RowMapping, list[RowMapping]]]  # each delivery with its attempts
    next_cursor: str | None


class Views:
    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    async def person(self, agency: str, sub: str) -> Person | None:
        async with self._uow.reading() as tx:
            return await tx.staff.get(agency, sub)

    async def staff_of(self, agency: str) -> list[Person]:
        async with self._uow.reading() as tx:
            return await tx.staff.of_agencies({agency})

    async def subscriptions_of(self, agency: str) -> list[Subscription]:
        """The agency's own subscriptions (not the defaults)."""
        async with self._uow.reading() as tx:
            return await tx.subscriptions.of_agencies({agency})

    async def inbox(self, person_id: int, limit: int, cursor: str | None, unread_only: bool = False) -> InboxPage:
        """Raise ValueError (or TypeError) for a cursor this service did not give out."""
        async with self._uow.reading() as tx:
            rows, next_cursor = await tx.items.page(person_id, limit, cursor, unread_only)
            return InboxPage(rows, next_cursor, await tx.items.unread_count(person_id))

    async def inbox_item(self, person_id: int, item_id: int) -> RowMapping | None:
        async with self._uow.reading() as tx:
            return await tx.items.item(person_id, item_id)

    async def unread(self, person_id: int) -> int:
        async with self._uow.reading() as tx:
            return await tx.items.unread_count(person_id)

    async def fresh_items(self, person_id: int, after_id: int | None, since: datetime) -> tuple[int, list[RowMapping]]:
        """The newest item id (``after_id`` when given), and the items after it or made since
        ``since``."""
        async with self._uow.reading() as tx:
            if after_id is None:
                after_id = await tx.items.newest_id(person_id)
            return after_id, await tx.items.fresh(person_id, after_id, since)

    async def webhooks_of(self, agency: str) -> list[Endpoint]:
        async with self._uow.reading() as tx:
            return await tx.webhooks.of_agency(agency)

    async def webhook(self, webhook_id: str) -> Endpoint | None:
        async with self._uow.reading() as tx:
            return await tx.webhooks.get(webhook_id)

    async def deliveries_of(self, webhook_id: str, limit: int, cursor: str | None) -> DeliveryPage:
        """The endpoint's deliveries, newest first, each with its attempts."""
        async with self._uow.reading() as tx:
            rows = await tx.deliveries.of_webhook(webhook_id, limit + 1, cursor)
            more = len(rows) > limit
            rows = rows[:limit]
            attempts = await tx.deliveries.attempts_of([r["id"] for r in rows])
        items = [(row, attempts.get(row["id"], [])) for row in rows]
        return DeliveryPage(items, rows[-1]["id"] if more and rows else None)
