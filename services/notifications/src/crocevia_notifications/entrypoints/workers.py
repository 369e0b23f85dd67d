"""The background work of a replica: send due e-mails and webhooks, fire due timers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from crocevia_notifications.adapters.live import Signal

log = logging.getLogger(__name__)


async def keep_doing(work: Callable[[], Awaitable[int]], wake: Signal, poll_seconds: float, name: str) -> None:
    """Run ``work`` again at once while it finds something to do, else when woken or after
    ``poll_seconds``. A failure is logged and tried again on the next round."""
    while True:
        ticket = wake.ticket()
        try:
            did = await work()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("%s failed; trying again", name)
            did = 0
        if not did:
            await wake.wait(ticket, poll_seconds)
