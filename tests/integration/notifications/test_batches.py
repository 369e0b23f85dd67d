"""Referral events are applied in batches, one transaction each: an event that can never be
applied, in the middle of a batch, is dead-lettered alone and the others are told once."""

from __future__ import annotations

from collections import Counter

from crocevia_common.messaging.streams import ensure_streams
from crocevia_contracts.events import EventName
from tests.integration.notifications.support import consumed
from tests.integration.notifications.test_bad_events import dead_letters, requested
from tests.kit.services import eventually

N = 30


async def test_a_bad_event_in_a_backlog_is_dead_lettered_alone_and_the_batch_is_told_once(
    notifications_factory, js, events, tokens
):
    await ensure_streams(js)
    for n in range(N):
        await events.requested(f"ref-{n}")
        if n == N // 2:  # a receipt of a referral nobody requested: never applicable
            await events.step(requested("ghost").data, EventName.RECEIVED)  # type: ignore[arg-type]

    async with notifications_factory() as app:
        await eventually(lambda: consumed(js), timeout=30)
        consumer = app.app.state.runtime.consumers[0]
        items = (await app.get("/inbox?limit=200", headers=tokens.bearer("cpia2", sub="op-en"))).json()["items"]

    assert Counter(i["referral_id"] for i in items) == Counter({f"ref-{n}": 1 for n in range(N)})
    letters = await dead_letters(js)
    assert [(d["subject"], d["reason"]) for d in letters] == [
        ("referral.v1.cpia2.pioltello-casa.received", "no requested event of this referral came before it")
    ]
    assert (consumer.applied, consumer.dead_lettered) == (N, 1)
    assert consumer.batches < N  # fetched and applied many at a time, not one by one
