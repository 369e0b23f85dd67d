"""A steady load of referrals over every pair of agencies, kept up while processes die: a
request that fails (a node killed under it, or not started yet) is sent again with the same
``Idempotency-Key`` until its node answers, so each key must make exactly one referral. A
share of the referrals is accepted by its receiver once it has arrived there, so that both
nodes publish and the status each side ends in is not always the first one."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import httpx

from bench.net.client import Refused, Sent
from bench.net.load import Context


@dataclass
class Load:
    ctx: Context
    rate: float  # referrals per second, open loop
    rng: random.Random
    accepting: float = 0.3  # the share of referrals their receiver accepts
    timeout: float = 120.0  # how long one referral is retried
    retries: int = 0  # requests sent again after a failure
    # Each answer that was not the referral made ("503 /problems/database-unavailable", "no
    # answer"); of accepting, only the server's errors (5xx).
    refused: Counter[str] = field(default_factory=Counter)
    keys: dict[str, str] = field(default_factory=dict)  # referral id -> its Idempotency-Key
    accepted: set[str] = field(default_factory=set)  # referral ids
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

    async def settled(self, timeout: float = 120.0) -> None:
        """Wait until each sender shows each of its referrals received, or accepted."""
        client, deadline = self.ctx.client, time.monotonic() + timeout
        while True:
            outgoing = {
                a: await client.pages(f"{client.nodes[a]}/referrals", client.operator(a), {"direction": "outgoing"})
                for a in client.nodes
            }
            status = {r["id"]: r["status"] for listed in outgoing.values() for r in listed}
            behind = [
                s.id for s in self.ctx.sent if status.get(s.id) != ("accepted" if s.id in self.accepted else "received")
            ]
            if not behind:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(behind)} referrals not received or accepted at their sender")
            await asyncio.sleep(0.3)

    async def _run(self) -> None:
        pairs = self.ctx.client.pairs()
        began = time.perf_counter()
        count = 0
        while not self._stop.is_set():
            task = asyncio.create_task(self.one(*next(pairs)))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            count += 1
            pause = began + count / self.rate - time.perf_counter()
            if pause > 0:
                try:
                    await asyncio.wait_for(self._stop.wait(), pause)
                except TimeoutError:
                    pass

    async def _pause(self, tries: int = 0) -> None:
        """Before sending a request again: longer each time, so that a node coming back is
        not held down by every request it missed at once."""
        self.retries += 1
        await asyncio.sleep(min(2.0, 0.2 * 1.5**tries))

    async def one(self, sender: str, receiver: str, key: str | None = None) -> None:
        """One referral of the load, made once under ``key`` (a new one by default) however
        many times it must be sent."""
        key = key or str(uuid.uuid4())
        deadline = time.monotonic() + self.timeout
        tries = 0
        while True:
            try:
                sent = await self.ctx.client.create(sender, receiver, key)
            except (httpx.TransportError, Refused) as exc:
                self.refused[exc.answer if isinstance(exc, Refused) else "no answer"] += 1
                if time.monotonic() > deadline:
                    raise
                tries += 1
                await self._pause(tries)
                continue
            self.ctx.sent.append(sent)
            self.keys[sent.id] = key
            break
        if self.rng.random() < self.accepting:
            await self._accept(receiver, sent.id, deadline)

    async def _accept(self, receiver: str, referral_id: str, deadline: float) -> None:
        """Accept at the receiver once the referral is there; an answer lost with its node
        is known by the status the next try finds."""
        url = f"{self.ctx.client.nodes[receiver]}/referrals/{referral_id}/accept"
        tries = 0
        while True:
            try:
                answer = await self.ctx.client.http.post(url, headers=self.ctx.client.operator(receiver))
            except httpx.TransportError:
                answer = None
            if answer is not None and answer.status_code >= 500:
                self.refused[Refused("accept", answer).answer] += 1
            if answer is not None and (
                answer.status_code == 200
                or (answer.status_code == 409 and answer.json().get("current_status") == "accepted")
            ):
                self.accepted.add(referral_id)
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"accept {referral_id} at {receiver}: {answer and answer.text[:200]}")
            tries += 1
            await self._pause(tries)
