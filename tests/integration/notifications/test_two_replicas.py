"""Two replicas on one database and one NATS share the durable consumer: every event is
told once per person and channel, every e-mail, webhook and reminder goes out once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from crocevia_common.messaging.streams import ensure_streams
from tests.integration.notifications.support import MovableClock, consumed, looked_again, until
from tests.kit.services import eventually

N = 12
START = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


async def test_two_replicas_tell_everyone_exactly_once(
    notifications_factory, database_url, mail_settings, smtp, receiver, events, js, tokens
):
    clock = MovableClock(START)
    async with (
        notifications_factory(database_url, clock=clock, **mail_settings) as one,
        notifications_factory(database_url, clock=clock, **mail_settings) as two,
    ):
        hook = await one.post(
            "/webhooks", json={"url": receiver.url("cpia2")}, headers=tokens.bearer("cpia2", "admin", sub="admin-cpia2")
        )
        assert hook.status_code == 201
        for n in range(N):
            await events.requested(f"ref-{n}", at=START)
            # and again as another stream message: only the service's inbox can stop it
            original = await js.get_last_msg("REFERRALS", "referral.v1.pioltello-casa.cpia2.requested")
            await js.publish(original.subject, original.data, headers={"Nats-Msg-Id": f"again-{n}"})
        await eventually(lambda: consumed(js), timeout=30)
        await until(lambda: len(smtp.messages) >= 2 * N and len(receiver.hits["cpia2"]) >= N, within=20)

        clock.advance(hours=25)  # every referral misses its receive target
        await until(lambda: len(smtp.messages) >= 4 * N, within=20)
        for app in (one, two):  # any double would have gone out by now
            await looked_again(app, "timers", "e-mail", "webhooks")

        for app in (one, two):
            for sub in ("operator-cpia2", "op-en"):
                items = (await app.get("/inbox?limit=200", headers=tokens.bearer("cpia2", sub=sub))).json()["items"]
                assert Counter(i["kind"] for i in items) == {"event": N, "reminder": N}
                assert len({(i["kind"], i["referral_id"]) for i in items}) == 2 * N

    per_person = Counter(m["To"] for m in smtp.messages)
    assert per_person == {"operator-cpia2@staff.test": 2 * N, "op-en@staff.test": 2 * N}
    assert len({m["Message-ID"] for m in smtp.messages}) == 4 * N
    hits = receiver.hits["cpia2"]
    assert len(hits) == 2 * N  # N requests and N reminders, each once
    assert len({h.headers["webhook-id"] for h in hits}) == 2 * N
    notices = await js.stream_info("NOTICES")
    assert notices.state.messages == N


async def test_a_restart_in_the_middle_of_a_batch_tells_no_one_twice(
    notifications_factory, database_url, mail_settings, smtp, receiver, events, js, tokens
):
    await ensure_streams(js)
    for n in range(N):
        await events.requested(f"ref-{n}")
    # A stop can cut the last fetch short: what it had delivered comes again after ack_wait.
    mail_settings = {**mail_settings, "consumer_ack_wait_seconds": 3.0}
    async with notifications_factory(database_url, **mail_settings) as app:
        hook = await app.post(
            "/webhooks", json={"url": receiver.url("cpia2")}, headers=tokens.bearer("cpia2", "admin", sub="admin-cpia2")
        )
        assert hook.status_code == 201
        await until(lambda: smtp.messages)  # stop as soon as the work has begun
    async with notifications_factory(database_url, **mail_settings) as app:
        await eventually(lambda: consumed(js))
        await until(lambda: len(smtp.messages) >= 2 * N)
        await looked_again(app, "e-mail", "webhooks")
        items = (await app.get("/inbox?limit=200", headers=tokens.bearer("cpia2", sub="op-en"))).json()["items"]
    assert sorted(i["referral_id"] for i in items) == sorted(f"ref-{n}" for n in range(N))
    assert Counter(m["To"] for m in smtp.messages) == {"operator-cpia2@staff.test": N, "op-en@staff.test": N}
    # The endpoint was registered after some events were told: it hears of the rest, each once.
    assert len(receiver.hits["cpia2"]) == len({h.headers["webhook-id"] for h in receiver.hits["cpia2"]})
