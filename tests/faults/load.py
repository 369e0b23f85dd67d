"""A steady load of referrals over every pair of agencies, kept up while processes die: a
request that fails (a node killed under it, or not started yet) is sent again with the same
``Idempotency-Key`` until its node answers, so each key must make exactly one referral."""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field

import httpx

from bench.net.client import Sent
from bench.net.load import Context


@dataclass
class Load:
    ctx: Context
    rate: float  # referrals per second, open loop
    timeout: float = 120.0  # how long one referral is retried
    retries: int = 0  # requests sent again after a failure
    keys: dict[str, str] = field(default_factory=dict)  # referral id -> its Idempotency-Key
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _runner: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._runner = asyncio.create_task(self._run())

    async def stop(self) -> list[Sent]:
        """Stop sending; wait for the referrals in hand; every referral the load made."""
        self._stop.set()
        if self._runner is not None:
            await self._runner
        await asyncio.gather(*self._tasks)
        return self.ctx.sent

    async def _run(self) -> None:
        pairs = self.ctx.client.pairs()
        began = time.perf_counter()
        count = 0
        while not self._stop.is_set():
            task = asyncio.create_task(self._one(*next(pairs)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            count += 1
            pause = began + count / self.rate - time.perf_counter()
            if pause > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), pause)
                except TimeoutError:
                    pass

    async def _one(self, sender: str, receiver: str) -> None:
        key = str(uuid.uuid4())
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                sent = await self.ctx.client.create(sender, receiver, key)
            except (httpx.TransportError, RuntimeError):
                if time.monotonic() > deadline:
                    raise
                self.retries += 1
                await asyncio.sleep(0.2)
                continue
            self.ctx.sent.append(sent)
            self.keys[sent.id] = key
            return
