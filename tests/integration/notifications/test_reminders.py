"""Reminders and escalations from the directory's response targets: kept in the database,
published on NATS for the audit, and stopped as soon as the referral moves on."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from crocevia_contracts import EventName
from tests.integration.notifications.conftest import NotificationsFactory
from tests.integration.notifications.support import MovableClock, consumed, looked_again
from tests.kit.services import eventually

START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)  # routine targets: received in 24 h, decided in 120 h


@pytest.fixture
def notifications_factory(notifications_factory: NotificationsFactory, database_url: str) -> NotificationsFactory:
    """Every test here runs on SQLite and on PostgreSQL: senders and timers claim rows."""
    return functools.partial(notifications_factory, database_url)


async def inbox(app, tokens, sub: str, agency: str = "cpia2") -> list[dict]:
    answer = await app.get("/inbox", headers=tokens.bearer(agency, sub=sub))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def kinds(app, tokens, sub: str) -> list[tuple[str, str]]:
    return sorted((i["kind"], i["event"]) for i in await inbox(app, tokens, sub))


async def notices_on_nats(js) -> list[tuple[str, dict]]:
    sub = await js.pull_subscribe(
        "notice.v1.>", stream="NOTICES", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    try:
        messages = await sub.fetch(100, timeout=1)
    except TimeoutError:
        messages = []
    finally:
        await sub.unsubscribe()
    return [(m.subject, json.loads(m.data)) for m in messages]


async def test_a_request_not_received_in_time_reminds_the_operators_then_escalates_to_supervisors(
    notifications_factory, events, js, tokens
):
    clock = MovableClock(START)
    async with notifications_factory(clock=clock) as app:
        await events.requested("ref-1", at=START)
        await eventually(lambda: consumed(js))
        assert await kinds(app, tokens, "operator-cpia2") == [("event", "requested")]

        clock.advance(hours=24, minutes=1)
        await eventually(lambda: _has(app, tokens, "operator-cpia2", ("reminder", "receive")))
        assert await inbox(app, tokens, "supervisor-cpia2") == []

        clock.advance(hours=96)  # 120 h: the decision target passes too
        [escalation] = await eventually(lambda: inbox(app, tokens, "supervisor-cpia2"))
        assert (escalation["kind"], escalation["event"]) == ("escalation", "receive")
        assert escalation["title"] == "Escalation: a routine referral from PIOLTELLO-CASA was not received in time"
        assert await kinds(app, tokens, "operator-cpia2") == [("event", "requested"), ("reminder", "receive")]

        published = await eventually(lambda: _count(notices_on_nats(js), 2))
    subjects = [s for s, _ in published]
    assert subjects == ["notice.v1.cpia2.reminder", "notice.v1.cpia2.escalation"]
    reminder = published[0][1]
    assert reminder["type"] == "org.crocevia.notice.reminder.v1"
    assert (reminder["source"], reminder["subject"], reminder["sequence"]) == ("/services/notifications", "ref-1", 1)
    assert reminder["data"]["stage"] == "receive" and reminder["data"]["target_hours"] == 24
    assert reminder["data"]["notified"] == 2  # the two operators of the service
    assert published[1][1]["sequence"] == 2


async def _has(app, tokens, sub: str, wanted: tuple[str, str]) -> bool:
    return wanted in await kinds(app, tokens, sub)


async def _count(found, n: int):
    items = await found
    return items if len(items) >= n else None


async def test_receiving_stops_the_receive_timers_and_deciding_stops_the_rest(
    notifications_factory, events, js, tokens
):
    clock = MovableClock(START)
    async with notifications_factory(clock=clock) as app:
        requested = await events.requested("ref-1", at=START)
        await events.step(requested, EventName.RECEIVED)
        await eventually(lambda: consumed(js))
        clock.advance(hours=121)  # past the decision target, received but not decided
        await eventually(lambda: _has(app, tokens, "operator-cpia2", ("reminder", "decide")))

        await events.step(requested, EventName.ACCEPTED)
        await eventually(lambda: consumed(js))
        clock.advance(hours=100)
        await looked_again(app, "timers")
        assert await kinds(app, tokens, "operator-cpia2") == [("event", "requested"), ("reminder", "decide")]
        assert await inbox(app, tokens, "supervisor-cpia2") == []
    assert [s for s, _ in await notices_on_nats(js)] == ["notice.v1.cpia2.reminder"]


async def test_timers_survive_a_restart(notifications_factory, events, js, tokens):
    clock = MovableClock(START)
    async with notifications_factory(clock=clock):
        await events.requested("ref-1", at=START, priority="urgent")  # received within 4 h
        await eventually(lambda: consumed(js))
    clock.advance(hours=5)
    async with notifications_factory(clock=clock) as app:
        items = await eventually(lambda: _has(app, tokens, "operator-cpia2", ("reminder", "receive")))
    assert items


async def test_an_urgent_referral_is_reminded_on_its_own_shorter_target(notifications_factory, events, js, tokens):
    clock = MovableClock(START)
    async with notifications_factory(clock=clock) as app:
        await events.requested("ref-urgent", at=START, priority="urgent")
        await events.requested("ref-routine", at=START)
        await eventually(lambda: consumed(js))
        clock.advance(hours=4, minutes=1)
        await eventually(lambda: _has(app, tokens, "operator-cpia2", ("reminder", "receive")))
        reminded = [i["referral_id"] for i in await inbox(app, tokens, "operator-cpia2") if i["kind"] == "reminder"]
    assert reminded == ["ref-urgent"]
