"""The background work of a replica: send due e-mails and webhooks, fire due timers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from crocevia_notifications.adapters.live import Signal

log = logging.getLogger(__name__)


class Worker:
    """Runs ``work`` again at once while it finds something to do, else when woken or after
    ``poll_seconds``. A failure is logged and tried again on the next round. ``rounds``
    counts the rounds done, so a caller can wait for the worker to have looked again;
    ``in_flight`` says how much it started is still under way (webhook requests)."""

    def __init__(
        self,
        name: str,
        work: Callable[[], Awaitable[int]],
        wake: Signal,
        poll_seconds: float,
        in_flight: Callable[[], int] = lambda: 0,
    ) -> None:
        self.name = name
        self._work = work
        self._wake = wake
        self._poll_seconds = poll_seconds
        self._in_flight = in_flight
        self.rounds = 0
        self._round_done = Signal()

    async def run(self) -> None:
        while True:
            ticket = self._wake.ticket()
            try:
                did = await self._work()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("%s failed; trying again", self.name)
                did = 0
            self.rounds += 1
            self._round_done.fire()
            if not did:
                await self._wake.wait(ticket, self._poll_seconds)

    async def looked_again(self, rounds: int = 2, timeout: float = 30.0) -> None:
        """Wait until ``rounds`` more rounds have ended and nothing is under way: then at
        least one whole round began after this call, and whatever was due when it began is
        done."""
        target = self.rounds + rounds
        async with asyncio.timeout(timeout):
            while self.rounds < target or self._in_flight():
                ticket = self._round_done.ticket()
                if self.rounds >= target and not self._in_flight():
                    break
                await self._round_done.wait(ticket, timeout)
