"""The shared consumer applies the stream in order after a predecessor died holding messages
it had fetched and not acknowledged: the server hands those out again only once their ack
wait is over, and anything fetched before that would overtake them (the audit would then
refuse a referral's step as coming before its ``requested``). Real NATS server."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import nats

from crocevia_common.messaging.consumer import StreamConsumer
from crocevia_common.messaging.intake import Verified
from crocevia_common.messaging.streams import ensure_streams
from crocevia_contracts.stream import REFERRAL_EVENTS
from tests.kit.consumers import consumer
from tests.kit.services import eventually

SUBJECT = "referral.v1.casa.cpia2.requested"


class Recorder:
    def __init__(self) -> None:
        self.applied: list[int | None] = []

    async def apply(self, items: Sequence[Verified]) -> list[str | None]:
        self.applied += [i.delivery.stream_sequence for i in items]
        return [None] * len(items)


def stray_consumer(recorder: Recorder) -> StreamConsumer:
    return consumer(apply=recorder.apply, batch_size=10, ack_wait_seconds=1.0, fetch_wait_seconds=0.2)


async def test_messages_a_dead_predecessor_held_are_applied_before_those_after_them(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        for n in range(6):
            await js.publish(SUBJECT, f"event {n}".encode())
        recorder = Recorder()
        subject = stray_consumer(recorder)
        # The predecessor: fetches the first two, then dies without acknowledging them.
        predecessor = await nats.connect(nats_url)
        await subject.ensure(predecessor.jetstream())
        pull = await predecessor.jetstream().pull_subscribe_bind(durable="audit", stream=REFERRAL_EVENTS.name)
        held = await pull.fetch(2, timeout=5)
        assert [m.metadata.sequence.stream for m in held] == [1, 2]
        await predecessor.close()
        assert (await js.consumer_info(REFERRAL_EVENTS.name, "audit")).num_ack_pending == 2

        async def all_applied() -> bool:
            return len(recorder.applied) >= 6

        running = asyncio.create_task(subject.run(js))
        try:
            await eventually(all_applied, timeout=30)
        finally:
            subject.stop()
            await asyncio.wait_for(running, timeout=10)
        info = await js.consumer_info(REFERRAL_EVENTS.name, "audit")
    finally:
        await nc.close()
    assert recorder.applied == [1, 2, 3, 4, 5, 6]  # in stream order, each once
    assert info.ack_floor.stream_seq == 6 and info.num_ack_pending == 0
