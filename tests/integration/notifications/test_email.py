"""E-mail through a real SMTP server: in the person's language, once, held in quiet hours,
gathered in digests."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import pytest

from crocevia_contracts import EventName
from tests.integration.notifications.conftest import NotificationsFactory
from tests.integration.notifications.support import MovableClock, consumed, looked_again, until
from tests.kit.services import eventually

GIULIA, AHMED = "operator-cpia2@staff.test", "op-en@staff.test"


@pytest.fixture
def notifications_factory(notifications_factory: NotificationsFactory, database_url: str) -> NotificationsFactory:
    """Every test here runs on SQLite and on PostgreSQL: senders and timers claim rows."""
    return functools.partial(notifications_factory, database_url)


async def test_a_request_is_emailed_to_each_receiving_operator_in_their_language(
    notifications_factory, mail_settings, smtp, events, js
):
    async with notifications_factory(**mail_settings, node_urls={"cpia2": "http://cpia2.node.test"}):
        await events.requested("ref-1")
        await until(lambda: len(smtp.messages) >= 2)
        await eventually(lambda: consumed(js))

    [italian] = smtp.to(GIULIA)
    [english] = smtp.to(AHMED)
    assert italian["Subject"] == "Nuovo invio da PIOLTELLO-CASA per Corso di italiano A1"
    assert english["Subject"] == "New referral from PIOLTELLO-CASA for Corso di italiano A1"
    assert italian["Content-Language"] == "it"
    assert "http://cpia2.node.test/ui/referrals/ref-1" in italian.get_content()
    assert "Referral: ref-1" in english.get_content()
    # The operator of another service and the supervisor are not written to.
    assert sorted(m["To"] for m in smtp.messages) == [AHMED, GIULIA]


async def test_a_redelivered_event_sends_no_second_email(notifications_factory, mail_settings, smtp, events, js):
    async with notifications_factory(**mail_settings) as app:
        requested = await events.requested("ref-1")
        await events.step(requested, EventName.CANCELLED, reason_code="withdrawn")
        for event in ("requested", "cancelled"):  # both again, as new stream messages
            subject = f"referral.v1.pioltello-casa.cpia2.{event}"
            original = await js.get_last_msg("REFERRALS", subject)
            await js.publish(subject, original.data, headers={"Nats-Msg-Id": f"again-{event}"})
        await until(lambda: len(smtp.to(GIULIA)) >= 2)
        await eventually(lambda: consumed(js))
        await looked_again(app, "e-mail")
    assert sorted(m["Subject"] for m in smtp.to(GIULIA)) == [
        "Nuovo invio da PIOLTELLO-CASA per Corso di italiano A1",
        "PIOLTELLO-CASA ha annullato un invio",
    ]


async def test_email_can_be_turned_off_by_the_person(notifications_factory, mail_settings, smtp, events, js, tokens):
    async with notifications_factory(**mail_settings) as app:
        off = await app.put(
            "/me/preferences", json={"email_enabled": False}, headers=tokens.bearer("cpia2", sub="operator-cpia2")
        )
        assert off.status_code == 200, off.text
        await events.requested("ref-1")
        await until(lambda: len(smtp.to(AHMED)) == 1)
        await eventually(lambda: consumed(js))
        inbox = (await app.get("/inbox", headers=tokens.bearer("cpia2", sub="operator-cpia2"))).json()
    assert smtp.to(GIULIA) == []
    assert [i["referral_id"] for i in inbox["items"]] == ["ref-1"]  # the inbox still has it


async def test_an_email_in_quiet_hours_is_held_and_sent_when_they_end(
    notifications_factory, mail_settings, smtp, events, js, tokens
):
    clock = MovableClock(datetime(2026, 11, 2, 22, 0, tzinfo=UTC))  # 23:00 in Rome
    async with notifications_factory(clock=clock, **mail_settings) as app:
        quiet = await app.put(
            "/me/preferences",
            json={"quiet_hours": {"start": "21:00", "end": "07:30"}},
            headers=tokens.bearer("cpia2", sub="operator-cpia2"),
        )
        assert quiet.status_code == 200, quiet.text
        await events.requested("ref-1")
        await until(lambda: len(smtp.to(AHMED)) == 1)  # no quiet hours: sent at once
        await eventually(lambda: consumed(js))
        assert smtp.to(GIULIA) == []

        clock.advance(hours=8)  # 07:00 in Rome: still quiet
        await looked_again(app, "e-mail")
        assert smtp.to(GIULIA) == []
        clock.advance(minutes=31)  # 07:31
        [held] = await until(lambda: smtp.to(GIULIA))
    assert held["Subject"] == "Nuovo invio da PIOLTELLO-CASA per Corso di italiano A1"


async def test_an_hourly_digest_sends_one_summary_for_the_window(
    notifications_factory, mail_settings, smtp, events, js, tokens
):
    clock = MovableClock(datetime(2026, 11, 2, 9, 0, tzinfo=UTC))  # 10:00 in Rome: the window ends at 11:00
    async with notifications_factory(clock=clock, **mail_settings) as app:
        digest = await app.put(
            "/me/preferences", json={"digest": "hourly"}, headers=tokens.bearer("cpia2", sub="op-en")
        )
        assert digest.status_code == 200
        for n in range(3):
            await events.requested(f"ref-{n}")
        await until(lambda: len(smtp.to(GIULIA)) == 3)  # no digest: one each, at once
        await eventually(lambda: consumed(js))
        assert smtp.to(AHMED) == []
        clock.advance(minutes=59)
        await looked_again(app, "e-mail")
        assert smtp.to(AHMED) == []
        clock.advance(minutes=1)
        [summary] = await until(lambda: smtp.to(AHMED))
        await looked_again(app, "e-mail")
    body = summary.get_content()
    assert summary["Subject"] == "Crocevia: 3 notifications"
    assert [body.count(f"Referral: ref-{n}") for n in range(3)] == [1, 1, 1]
    assert len(smtp.to(AHMED)) == 1
