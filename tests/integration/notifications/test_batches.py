"""Referral events are applied in batches, one transaction each: an event that can never be
applied, in the middle of a batch, is dead-lettered alone and the others are told once."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.engine import Engine

from crocevia_common.db import Database
from crocevia_common.messaging.streams import ensure_streams
from crocevia_contracts.events import EventName
from crocevia_notifications.adapters.tables import inbox_items, referrals, timers
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


async def test_a_batch_holding_every_step_of_its_referrals_follows_each_to_its_last_step(
    notifications_factory, database_url, js, events
):
    # Requested, received and accepted of the same referrals in one backlog: the batch reads
    # its referrals ahead, then must see what each earlier event of the batch changed.
    await ensure_streams(js)
    for n in range(N):
        data = await events.requested(f"ref-{n}")
        await events.step(data, EventName.RECEIVED, step=1)
        await events.step(data, EventName.ACCEPTED, step=2)
    writes: Counter[str] = Counter()  # statements writing the referrals and timers tables, by kind and table

    def counted(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if found := re.match(r"\s*(INSERT INTO|UPDATE) (referrals|timers)\b", statement):
            writes[f"{found[1].split()[0]} {found[2]}"] += 1

    event.listen(Engine, "before_cursor_execute", counted)
    try:
        async with notifications_factory(database_url) as app:
            await eventually(lambda: consumed(js), timeout=30)
            consumer = app.app.state.runtime.consumers[0]
    finally:
        event.remove(Engine, "before_cursor_execute", counted)

    db = Database(database_url)
    try:
        async with db.connect() as session:
            statuses = Counter((await session.execute(select(referrals.c.status))).scalars())
            told = Counter(
                (r.referral_id, r.event, r.person_id)
                for r in await session.execute(
                    select(inbox_items.c.referral_id, inbox_items.c.event, inbox_items.c.person_id)
                )
            )
            timers_by_state = Counter(
                (r.stage, r.state) for r in await session.execute(select(timers.c.stage, timers.c.state))
            )
    finally:
        await db.dispose()
    assert (consumer.applied, consumer.dead_lettered) == (3 * N, 0)
    assert consumer.batches < 3 * N
    assert statuses == {"accepted": N}
    # Each batch writes its referrals and timers in one statement of each kind, whatever its events.
    assert writes and all(count <= consumer.batches for count in writes.values()), (writes, consumer.batches)
    assert writes["INSERT referrals"] > 0 and writes["INSERT timers"] > 0
    assert {event for _, event, _ in told} == {"requested", "received", "accepted"}
    assert max(told.values()) == 1  # each person told of each event once
    # Armed on request and on receipt, each stage's timers cancelled by the step that closed it.
    assert timers_by_state and all(state == "cancelled" for _, state in timers_by_state)
