"""Webhooks: registering an endpoint, and delivering what is due, each request on its own
task so a slow or dead endpoint never holds up the others."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
import time
from datetime import timedelta

from sqlalchemy.engine import RowMapping

from crocevia_contracts import new_event_id
from crocevia_notifications.adapters import delivery_store, webhook_store
from crocevia_notifications.adapters.addresses import check_url
from crocevia_notifications.adapters.tables import utc
from crocevia_notifications.adapters.webhook_client import WebhookClient
from crocevia_notifications.domain.webhooks import headers, new_secret, retry_delay, signing_secrets
from crocevia_notifications.handlers.context import Notifier, utc_now

log = logging.getLogger(__name__)


async def register_webhook(ctx: Notifier, *, agency: str, url: str, event_types: list[str], by: str) -> RowMapping:
    """Store an endpoint with a fresh secret; raise ForbiddenURL for a URL it may not reach."""
    await check_url(url, ctx.settings.webhook_allowed_hosts)
    webhook_id = new_event_id()
    async with ctx.db.transaction() as session:
        await webhook_store.add(
            session,
            id=webhook_id,
            agency=agency,
            url=url,
            topics=sorted(set(event_types)),
            secret=new_secret(),
            created_by=by,
            created_at=ctx.clock(),
        )
        row = await webhook_store.get(session, webhook_id)
    assert row is not None
    return row


async def rotate_secret(ctx: Notifier, webhook_id: str) -> RowMapping:
    """Give the endpoint a new secret. The old one keeps signing alongside it for the grace
    period of the settings, so the receiver can switch without losing a delivery."""
    grace = ctx.settings.webhook_rotation_grace_seconds
    async with ctx.db.transaction() as session:
        until = ctx.clock() + timedelta(seconds=grace) if grace > 0 else None
        await webhook_store.rotate(session, webhook_id, new_secret(), until)
        row = await webhook_store.get(session, webhook_id)
    assert row is not None
    return row


async def enable_webhook(ctx: Notifier, endpoint: RowMapping) -> RowMapping:
    """Turn a disabled endpoint (by an admin, or by a 410) back on, if its URL may still be
    reached; raise ForbiddenURL otherwise. What was cancelled while it was off stays so."""
    await check_url(endpoint["url"], ctx.settings.webhook_allowed_hosts)
    async with ctx.db.transaction() as session:
        await webhook_store.enable(session, endpoint["id"])
        row = await webhook_store.get(session, endpoint["id"])
    assert row is not None
    return row


class WebhookSender:
    def __init__(self, ctx: Notifier, client: WebhookClient) -> None:
        self._ctx = ctx
        self._client = client
        self._in_flight: dict[str, asyncio.Task[None]] = {}

    async def send_due(self) -> int:
        """Start sending what is due, as far as free slots allow; return how many started."""
        ctx = self._ctx
        free = ctx.settings.webhook_concurrency - len(self._in_flight)
        if free <= 0:
            return 0
        now, real_now = ctx.clock(), utc_now()
        lease = timedelta(seconds=ctx.settings.webhook_timeout_seconds * 2 + 30)
        async with ctx.db.sessions() as session:
            due = await delivery_store.due(session, "webhook", now, real_now, free, set(self._in_flight))
        started = 0
        for row in due:
            async with ctx.db.transaction() as session:
                claimed = await delivery_store.claim(
                    session, delivery_store.one(row["id"]), now, real_now, lease, ctx.replica
                )
            if not claimed:
                continue
            task = asyncio.create_task(self._deliver(claimed[0]), name=f"webhook-{row['id']}")
            self._in_flight[row["id"]] = task
            task.add_done_callback(functools.partial(self._done, row["id"]))
            started += 1
        return started

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        self._in_flight.pop(key, None)
        if not task.cancelled() and task.exception() is not None:
            # The claim runs out and the delivery is tried again.
            log.error("webhook delivery %s failed: %r", key, task.exception())
        self._ctx.senders.fire()

    async def _deliver(self, delivery: RowMapping) -> None:
        ctx = self._ctx
        async with ctx.db.sessions() as session:
            endpoint = await webhook_store.get(session, delivery["webhook_id"])
        if endpoint is None or not endpoint["active"]:
            async with ctx.db.transaction() as session:
                await delivery_store.finish(
                    session,
                    delivery["id"],
                    delivery_store.CANCELLED,
                    delivery["attempts"],
                    ctx.clock(),
                    "the endpoint is disabled",
                )
            return
        body = json.dumps(delivery["payload"], separators=(",", ":")).encode()
        previous_until = endpoint["previous_secret_until"]
        keys = signing_secrets(
            endpoint["secret"],
            endpoint["previous_secret"],
            utc(previous_until) if previous_until is not None else None,
            ctx.clock(),
        )
        signed = headers(keys, delivery["id"], int(time.time()), body)
        outcome = await self._client.post(endpoint["url"], signed, body)
        now = ctx.clock()
        async with ctx.db.transaction() as session:
            number = await delivery_store.record_attempt(
                session,
                delivery,
                now,
                ok=outcome.ok,
                status_code=outcome.status_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
            if outcome.ok:
                await delivery_store.finish(session, delivery["id"], delivery_store.SENT, number, now)
            elif outcome.gone:
                reason = "410 Gone: the receiver asked to stop"
                await delivery_store.finish(session, delivery["id"], delivery_store.FAILED, number, now, reason)
                await webhook_store.disable(session, endpoint["id"], now, reason)
                await delivery_store.cancel_pending_of_webhook(session, endpoint["id"], "endpoint disabled")
            else:
                delay = (
                    None
                    if outcome.forbidden
                    else retry_delay(ctx.settings.webhook_retry_seconds, number, random.random())
                )
                if delay is None:
                    await delivery_store.finish(
                        session, delivery["id"], delivery_store.FAILED, number, now, outcome.error
                    )
                else:
                    await delivery_store.retry_at(
                        session, delivery["id"], number, now + timedelta(seconds=delay), outcome.error or "failed"
                    )

    async def stop(self, grace_seconds: float = 5.0) -> None:
        """Let the requests under way finish (for a while), then stop the rest."""
        if self._in_flight:
            await asyncio.wait(list(self._in_flight.values()), timeout=grace_seconds)
        for task in list(self._in_flight.values()):
            task.cancel()
        await asyncio.gather(*self._in_flight.values(), return_exceptions=True)
        await self._client.close()
