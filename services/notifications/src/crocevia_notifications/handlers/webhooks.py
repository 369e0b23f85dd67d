"""Webhooks: an admin's endpoints (register, rotate the secret, disable, enable), and
delivering what is due, each request on its own task so a slow or dead endpoint never holds
up the others."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import time
from collections.abc import Callable
from datetime import timedelta

from crocevia_contracts import new_event_id
from crocevia_notifications.domain.deliveries import Attempt, Delivery, DeliveryChannel, DeliveryStatus
from crocevia_notifications.domain.webhooks import Endpoint, Outcome, headers, new_secret, retry_delay
from crocevia_notifications.handlers.context import Notifier, utc_now

log = logging.getLogger(__name__)


async def register_webhook(ctx: Notifier, *, agency: str, url: str, event_types: list[str], by: str) -> Endpoint:
    """Store an endpoint with a fresh secret; raise ForbiddenURL for a URL it may not reach."""
    await ctx.webhooks.check(url)
    endpoint = Endpoint(
        id=new_event_id(),
        agency=agency,
        url=url,
        topics=sorted(set(event_types)),
        secret=new_secret(),
        created_by=by,
        created_at=ctx.clock(),
    )
    async with ctx.uow.transaction() as tx:
        await tx.webhooks.add(endpoint)
    return endpoint


async def rotate_secret(ctx: Notifier, webhook_id: str) -> Endpoint | None:
    """Give the endpoint a new secret. The old one keeps signing alongside it for the grace
    period of the settings, so the receiver can switch without losing a delivery."""
    grace = ctx.settings.webhook_rotation_grace_seconds
    until = ctx.clock() + timedelta(seconds=grace) if grace > 0 else None
    async with ctx.uow.transaction() as tx:
        await tx.webhooks.rotate(webhook_id, new_secret(), until)
        return await tx.webhooks.get(webhook_id)


async def enable_webhook(ctx: Notifier, endpoint: Endpoint) -> Endpoint | None:
    """Turn a disabled endpoint (by an admin, or by a 410) back on, if its URL may still be
    reached; raise ForbiddenURL otherwise. What was cancelled while it was off stays so."""
    await ctx.webhooks.check(endpoint.url)
    async with ctx.uow.transaction() as tx:
        await tx.webhooks.enable(endpoint.id)
        return await tx.webhooks.get(endpoint.id)


async def disable_webhook(ctx: Notifier, webhook_id: str, by: str) -> None:
    """Turn an endpoint off, and cancel what it was still to be sent (its history stays)."""
    async with ctx.uow.transaction() as tx:
        await tx.webhooks.disable(webhook_id, ctx.clock(), f"disabled by {by}")
        await tx.deliveries.cancel_pending_of_webhook(webhook_id, "endpoint disabled")


class WebhookSender:
    """Sends due webhook deliveries, up to ``webhook_concurrency`` at once; ``on_done`` is
    called as each request ends (a slot is free)."""

    def __init__(self, ctx: Notifier, on_done: Callable[[], None] = lambda: None) -> None:
        self._ctx = ctx
        self._on_done = on_done
        self._in_flight: dict[str, asyncio.Task[None]] = {}

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def send_due(self) -> int:
        """Start sending what is due, as far as free slots allow; return how many started."""
        ctx = self._ctx
        free = ctx.settings.webhook_concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        now, real_now = ctx.clock(), utc_now()
        lease = timedelta(seconds=ctx.settings.webhook_timeout_seconds * 2 + 30)
        async with ctx.uow.reading() as tx:
            due = await tx.deliveries.due(DeliveryChannel.WEBHOOK, now, real_now, free, set(self._in_flight))
        started = 0
        for delivery in due:
            async with ctx.uow.transaction() as tx:
                claimed = await tx.deliveries.claim(delivery, now, real_now, lease, ctx.replica)
            if not claimed:
                continue
            task = asyncio.create_task(self._deliver(claimed[0]), name=f"webhook-{delivery.id}")
            self._in_flight[delivery.id] = task
            task.add_done_callback(functools.partial(self._done, delivery.id))
            started += 1
        return started

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            # The claim runs out and the delivery is tried again.
            log.error("webhook delivery %s failed: %r", key, task.exception())
        self._on_done()

    async def _deliver(self, delivery: Delivery) -> None:
        ctx = self._ctx
        assert delivery.webhook_id is not None
        async with ctx.uow.reading() as tx:
            endpoint = await tx.webhooks.get(delivery.webhook_id)
        if endpoint is None or not endpoint.active:
            async with ctx.uow.transaction() as tx:
                await tx.deliveries.finish(
                    delivery.id, DeliveryStatus.CANCELLED, delivery.attempts, ctx.clock(), "the endpoint is disabled"
                )
            return
        body = json.dumps(delivery.payload, separators=(",", ":")).encode()
        signed = headers(endpoint.signing_secrets(ctx.clock()), delivery.id, int(time.time()), body)
        outcome = await ctx.webhooks.post(endpoint.url, signed, body)
        await self._record(delivery, endpoint, outcome)

    async def _record(self, delivery: Delivery, endpoint: Endpoint, outcome: Outcome) -> None:
        """Sent; or, after a 410, failed and the endpoint disabled; else retried on the
        schedule until it is spent (never after a forbidden address)."""
        ctx = self._ctx
        now = ctx.clock()
        attempt = Attempt(now, outcome.ok, outcome.status_code, outcome.error, outcome.duration_ms)
        async with ctx.uow.transaction() as tx:
            number = await tx.deliveries.record_attempt(delivery, attempt)
            if outcome.ok:
                await tx.deliveries.finish(delivery.id, DeliveryStatus.SENT, number, now)
            elif outcome.gone:
                reason = "410 Gone: the receiver asked to stop"
                await tx.deliveries.finish(delivery.id, DeliveryStatus.FAILED, number, now, reason)
                await tx.webhooks.disable(endpoint.id, now, reason)
                await tx.deliveries.cancel_pending_of_webhook(endpoint.id, "endpoint disabled")
            else:
                schedule = ctx.settings.webhook_retry_seconds
                delay = None if outcome.forbidden else retry_delay(schedule, number, random.random())
                if delay is None:
                    await tx.deliveries.finish(delivery.id, DeliveryStatus.FAILED, number, now, outcome.error)
                else:
                    error = outcome.error or "failed"
                    await tx.deliveries.retry_at(delivery.id, number, now + timedelta(seconds=delay), error)

    async def drain(self) -> None:
        """Wait until the requests under way have ended and been recorded."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the requests under way finish (for a while), then stop the rest."""
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=grace_seconds)
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        await self._ctx.webhooks.close()
