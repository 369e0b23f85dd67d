"""Waking whoever waits for news: the senders of this replica, and the inbox streams of
every replica (over core NATS, so a client connected to one replica hears of items made by
another)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from nats.aio.client import Client
from nats.aio.subscription import Subscription

log = logging.getLogger(__name__)

INBOX_CHANGED = "notifications.inbox.changed"


class Signal:
    """A wake-up for many waiters. Take a ticket before looking, then wait on it: a wake-up
    between the look and the wait is not lost."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ticket(self) -> asyncio.Event:
        return self._event

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, ticket: asyncio.Event, seconds: float) -> bool:
        """True if woken, False after ``seconds``."""
        try:
            await asyncio.wait_for(ticket.wait(), seconds)
            return True
        except TimeoutError:
            return False


class InboxBroadcast:
    """Tells every replica's inbox streams that items were added."""

    def __init__(self, signal: Signal) -> None:
        self.signal = signal
        self._nc: Client | None = None
        self._sub: Subscription | None = None

    async def start(self, nc: Client) -> None:
        self._nc = nc

        async def heard(_msg: object) -> None:
            self.signal.fire()

        self._sub = await nc.subscribe(INBOX_CHANGED, cb=heard)

    async def announce(self) -> None:
        self.signal.fire()
        if self._nc is not None:
            try:
                await self._nc.publish(INBOX_CHANGED, b"")
            except Exception as exc:  # the streams still poll; a lost wake-up only delays
                log.debug("inbox broadcast failed: %s", exc)

    async def stop(self) -> None:
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
