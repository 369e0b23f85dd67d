"""A consumer with ``linger_seconds`` (the audit's, notifications') waits that long after a
batch smaller than its batch size before it fetches again: what comes meanwhile is applied
as one batch. Real NATS server."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence

import nats

from crocevia_common.messaging.intake import Verified
from crocevia_common.messaging.streams import ensure_streams
from tests.kit.consumers import consumer
from tests.kit.services import eventually

SUBJECT = "referral.v1.casa.cpia2.requested"
LINGER = 1.0


class Batches:
    def __init__(self) -> None:
        self.applied: list[tuple[float, list[int | None]]] = []  # when, and the stream sequences

    async def apply(self, items: Sequence[Verified]) -> list[str | None]:
        self.applied.append((time.monotonic(), [i.delivery.stream_sequence for i in items]))
        return [None] * len(items)

    def count(self) -> int:
        return sum(len(sequences) for _, sequences in self.applied)

    def at_least(self, n: int) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            return self.count() >= n

        return check


async def test_what_comes_while_a_consumer_lingers_is_applied_as_one_batch(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    batches = Batches()
    subject = consumer(apply=batches.apply, batch_size=10, fetch_wait_seconds=0.2, linger_seconds=LINGER)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        running = asyncio.create_task(subject.run(js))
        try:
            await js.publish(SUBJECT, b"event 0")
            await eventually(batches.at_least(1))
            for n in range(1, 6):  # while it lingers after a batch of one
                await js.publish(SUBJECT, f"event {n}".encode())
                await asyncio.sleep(0.03)
            await eventually(batches.at_least(6))
        finally:
            subject.stop()
            await asyncio.wait_for(running, timeout=10)  # stopping does not wait out a linger
    finally:
        await nc.close()
    (first, one), (second, five) = batches.applied
    assert (one, five) == ([1], [2, 3, 4, 5, 6])
    assert second - first >= LINGER
