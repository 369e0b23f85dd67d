"""How a consumer fetches: the first message as soon as it comes (a pull request for one,
which the server ends on delivering it), then as many more as the server says are pending
after it, up to the batch size, in stream order. Real NATS server, a node's filter."""

from __future__ import annotations

import nats

from crocevia_common.messaging.streams import ensure_streams
from crocevia_contracts.stream import REFERRAL_EVENTS
from tests.kit.consumers import consumer


async def test_a_fetch_takes_the_first_message_then_those_pending_after_it_up_to_the_batch(nats_url: str) -> None:
    nc = await nats.connect(nats_url)
    subject = consumer(name="referrals-cpia2", filter_subject="referral.v1.*.cpia2.*", apply=None, batch_size=3)
    try:
        js = nc.jetstream()
        await ensure_streams(js)
        for n in range(5):
            await js.publish("referral.v1.casa.cpia2.requested", f"event {n}".encode())
            await js.publish("referral.v1.casa.csl-lavoro.requested", b"for another agency")
        await subject.ensure(js)
        pull = await js.pull_subscribe_bind(durable=subject.name, stream=REFERRAL_EVENTS.name)
        fetched = []
        for _ in range(2):
            batch = await subject._fetch(pull, subject.batch_size)
            fetched.append([m.metadata.sequence.stream for m in batch])
            for m in batch:
                await m.ack()
    finally:
        await nc.close()
    assert fetched == [[1, 3, 5], [7, 9]]
