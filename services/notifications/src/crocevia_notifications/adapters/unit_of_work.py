"""The unit of work on the service's database: one transaction, and every store in it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database
from crocevia_common.messaging.intake import Claims, Verified
from crocevia_contracts.sealing import PartyKeys
from crocevia_notifications.adapters.delivery_store import SqlDeliveries
from crocevia_notifications.adapters.inbox_store import SqlInboxItems
from crocevia_notifications.adapters.notice_events import enqueue_notice
from crocevia_notifications.adapters.referral_store import SqlAssignments, SqlReferrals
from crocevia_notifications.adapters.staff_store import SqlStaff
from crocevia_notifications.adapters.subscription_store import SqlSubscriptions
from crocevia_notifications.adapters.tables import messaging
from crocevia_notifications.adapters.timer_store import SqlTimers
from crocevia_notifications.adapters.webhook_store import SqlWebhooks
from crocevia_notifications.domain.notices import Notice

# The durable consumer of referral events, and the name its inbox of applied events has.
CONSUMER = "notifications"
CASELOAD_CONSUMER = "notifications-caseload"


class SqlTransaction:
    def __init__(self, session: AsyncConnection, keys: PartyKeys) -> None:
        self.session = session
        self._keys = keys
        self.referrals = SqlReferrals(session)
        self.assignments = SqlAssignments(session)
        self.timers = SqlTimers(session)
        self.items = SqlInboxItems(session)
        self.deliveries = SqlDeliveries(session)
        self.staff = SqlStaff(session)
        self.subscriptions = SqlSubscriptions(session)
        self.webhooks = SqlWebhooks(session)
        self._claims = Claims(session, messaging, CONSUMER)

    async def claim_ahead(self, items: Sequence[Verified]) -> None:
        await self._claims.claim_ahead(items)

    async def claim(self, item: Verified) -> bool:
        return await self._claims.claim(item)

    async def publish(self, notice: Notice, *, due_at: datetime, target_hours: float, notified: int) -> None:
        await enqueue_notice(
            self.session, notice, self._keys, due_at=due_at, target_hours=target_hours, notified=notified
        )


class SqlUnitOfWork:
    """``keys`` are this service's own: they sign the notices it publishes."""

    def __init__(self, db: Database, keys: PartyKeys) -> None:
        self.db = db
        self.keys = keys

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SqlTransaction]:
        async with self.db.transaction() as session:
            tx = SqlTransaction(session, self.keys)
            yield tx
            # What the stores hold back is written before the commit.
            await tx.referrals.flush()
            await tx.timers.flush()
            await tx.items.flush()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[SqlTransaction]:
        async with self.db.connect() as session:
            yield SqlTransaction(session, self.keys)
