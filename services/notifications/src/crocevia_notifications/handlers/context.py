"""What the use cases of the notifications service work with: one ``Notifier``, made once
by the bootstrap (tests make theirs with in-memory fakes)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from crocevia_notifications.handlers.ports import Directory, Mailer, UnitOfWork, WebhookClient
from crocevia_notifications.settings import NotificationsSettings

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


async def _nothing() -> None:
    return None


@dataclass
class Notifier:
    settings: NotificationsSettings
    uow: UnitOfWork
    directory: Directory
    mailer: Mailer
    webhooks: WebhookClient
    clock: Clock = utc_now  # the time reminders, quiet hours, digests and retries go by
    # Called after a commit that made items, deliveries or notices: wakes the senders, the
    # outbox relay and every replica's inbox streams.
    woken: Callable[[], Awaitable[None]] = _nothing
    # Names this replica's claims on deliveries, so it can give back what it leaves undone.
    replica: str = field(default_factory=lambda: uuid.uuid4().hex[:8])

    async def wake(self) -> None:
        await self.woken()

    def link(self, agency: str, referral_id: str, for_people: bool = True) -> str:
        """Where ``agency`` opens the referral on its own node: the web page for its staff,
        the API resource for its systems (webhooks)."""
        base = self.settings.node_urls.get(agency, "").rstrip("/")
        return f"{base}/ui/referrals/{referral_id}" if for_people else f"{base}/referrals/{referral_id}"


async def finish_before_stopping(work: Awaitable[None], grace_seconds: float) -> None:
    """Run ``work`` (a send and its record); if the service stops meanwhile, let it finish
    for up to ``grace_seconds`` first, so what went out is recorded as sent."""
    job = asyncio.ensure_future(work)
    try:
        await asyncio.shield(job)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception, asyncio.CancelledError):
            await asyncio.wait_for(job, grace_seconds)
        raise
