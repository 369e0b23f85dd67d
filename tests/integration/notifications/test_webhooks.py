"""Webhooks: registered with a secret, signed as Standard Webhooks says, retried with
growing delays, disabled by 410, every attempt on record, and never sent inside."""

from __future__ import annotations

import functools
import itertools
from datetime import UTC, datetime, timedelta

import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from crocevia_contracts import EventName
from tests.integration.notifications.conftest import NotificationsFactory
from tests.integration.notifications.support import consumed, looked_again, until
from tests.kit.services import eventually

ADMIN = ("cpia2", "admin")


@pytest.fixture
def notifications_factory(notifications_factory: NotificationsFactory, database_url: str) -> NotificationsFactory:
    """Every test here runs on SQLite and on PostgreSQL: senders and timers claim rows."""
    return functools.partial(notifications_factory, database_url)


async def register(app, tokens, url: str, event_types: list[str] | None = None, agency: str = "cpia2"):
    return await app.post(
        "/webhooks",
        json={"url": url, "event_types": event_types or []},
        headers=tokens.bearer(agency, "admin", sub=f"admin-{agency}"),
    )


async def deliveries(app, tokens, webhook_id: str) -> list[dict]:
    answer = await app.get(f"/webhooks/{webhook_id}/deliveries", headers=tokens.bearer(*ADMIN))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_a_registered_endpoint_gets_each_event_signed_once(notifications_factory, receiver, events, js, tokens):
    async with notifications_factory() as app:
        created = await register(app, tokens, receiver.url("cpia2"), ["requested", "cancelled"])
        assert created.status_code == 201, created.text
        hook = created.json()
        assert hook["secret"].startswith("whsec_") and hook["active"] is True
        listed = (await app.get("/webhooks", headers=tokens.bearer(*ADMIN))).json()
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]

        requested = await events.requested("ref-1")
        await events.step(requested, EventName.RECEIVED)  # not among the endpoint's event types
        await events.step(requested, EventName.CANCELLED, reason_code="withdrawn")
        await until(lambda: len(receiver.hits["cpia2"]) >= 2)
        await eventually(lambda: consumed(js))
        await looked_again(app, "webhooks")
        hits = receiver.hits["cpia2"]
        payloads = [Webhook(hook["secret"]).verify(hit.body, hit.headers) for hit in hits]
        assert [p["type"] for p in payloads] == ["referral.requested", "referral.cancelled"]
        first = payloads[0]["data"]
        assert (first["referral_id"], first["sender_agency"], first["receiver_agency"]) == (
            "ref-1",
            "pioltello-casa",
            "cpia2",
        )
        assert first["link"].endswith("/referrals/ref-1") and "/ui/" not in first["link"], "systems get the API"
        assert "legal_basis" not in first and "op-1" not in hits[0].body.decode()
        assert len({hit.headers["webhook-id"] for hit in hits}) == 2

        record = await deliveries(app, tokens, hook["id"])
        assert [(d["status"], d["attempts"]) for d in record] == [("sent", 1), ("sent", 1)]
        assert {d["id"] for d in record} == {hit.headers["webhook-id"] for hit in hits}
        assert record[0]["history"][0]["status_code"] == 200


async def test_a_failing_endpoint_is_retried_with_the_same_id_until_it_answers(
    notifications_factory, receiver, events, js, tokens
):
    receiver.plans["flaky"] = [500, 503]
    async with notifications_factory(webhook_retry_seconds=[0.2, 0.4, 0.8]) as app:
        hook = (await register(app, tokens, receiver.url("flaky"))).json()
        await events.requested("ref-1")
        await until(lambda: len(receiver.hits["flaky"]) >= 3)
        record = await eventually(lambda: _sent(app, tokens, hook["id"]))
    hits = receiver.hits["flaky"]
    assert len({hit.headers["webhook-id"] for hit in hits}) == 1
    gaps = [b.at - a.at for a, b in itertools.pairwise(hits)]
    assert gaps[0] >= 0.2 and gaps[1] >= 0.4  # growing delays
    [delivery] = record
    assert [a["status_code"] for a in delivery["history"]] == [500, 503, 200]
    assert [a["ok"] for a in delivery["history"]] == [False, False, True]


async def disabled(app, tokens, webhook_id: str) -> dict | None:
    """The endpoint once it is disabled, else None."""
    answer = (await app.get(f"/webhooks/{webhook_id}", headers=tokens.bearer(*ADMIN))).json()
    return None if answer["active"] else answer


async def _sent(app, tokens, webhook_id: str) -> list[dict] | None:
    record = await deliveries(app, tokens, webhook_id)
    return record if record and all(d["status"] == "sent" for d in record) else None


async def test_a_delivery_is_given_up_when_the_schedule_is_spent(notifications_factory, receiver, events, tokens):
    receiver.plans["down"] = [500] * 10
    async with notifications_factory(webhook_retry_seconds=[0.1, 0.1]) as app:
        hook = (await register(app, tokens, receiver.url("down"))).json()
        await events.requested("ref-1")

        async def failed():
            record = await deliveries(app, tokens, hook["id"])
            return record and record[0]["status"] == "failed" and record[0]

        delivery = await eventually(failed)
    assert delivery["attempts"] == 3 and len(receiver.hits["down"]) == 3
    assert delivery["last_error"] == "HTTP 500"


async def test_410_gone_disables_the_endpoint_and_nothing_more_is_sent(
    notifications_factory, receiver, events, js, tokens
):
    receiver.plans["gone"] = [410]
    async with notifications_factory() as app:
        hook = (await register(app, tokens, receiver.url("gone"))).json()
        requested = await events.requested("ref-1")

        endpoint = await eventually(lambda: disabled(app, tokens, hook["id"]))
        assert endpoint["disabled_reason"].startswith("410 Gone")
        await events.step(requested, EventName.CANCELLED, reason_code="withdrawn")
        await eventually(lambda: consumed(js))
        await looked_again(app, "webhooks")
        record = await deliveries(app, tokens, hook["id"])
    assert len(receiver.hits["gone"]) == 1
    assert [d["status"] for d in record] == ["failed"]


async def test_a_dead_endpoint_does_not_hold_up_the_others(notifications_factory, receiver, events, tokens):
    receiver.hang.add("dead")
    async with notifications_factory(webhook_timeout_seconds=40.0) as app:
        await register(app, tokens, receiver.url("dead"))
        await register(app, tokens, receiver.url("casa"), agency="pioltello-casa")
        requested = await events.requested("ref-1")
        await until(lambda: receiver.hits["dead"] and receiver.hits["casa"], within=10)
        await events.step(requested, EventName.RECEIVED)
        await until(lambda: len(receiver.hits["casa"]) == 2, within=10)  # while the dead one still hangs
        await until(lambda: len(receiver.hits["dead"]) == 2, within=10)  # sent the second too: both hang
        assert not receiver.release.is_set()
        receiver.release.set()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("ftp://hooks.example/x", "only http and https"),
        ("http://[::1]:8080/hook", "loopback"),
        ("http://localhost:8080/hook", "loopback"),
        ("http://169.254.169.254/latest/meta-data", "link-local"),
        ("http://10.0.0.7/hook", "private"),
        ("https://user:pw@hooks.example/x", "credentials"),
        ("not a url", "only http and https"),
    ],
)
async def test_a_url_pointing_inside_or_not_http_is_refused_and_nothing_is_stored(
    notifications_factory, tokens, url, why
):
    async with notifications_factory() as app:
        answer = await register(app, tokens, url)
        listed = (await app.get("/webhooks", headers=tokens.bearer(*ADMIN))).json()
    assert answer.status_code == 422
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/forbidden-url"
    assert why in answer.json()["detail"]
    assert listed == []


async def test_only_an_agencys_admin_registers_for_it_and_only_for_a_known_agency(
    notifications_factory, tokens, receiver
):
    async with notifications_factory() as app:
        operator = await app.post(
            "/webhooks", json={"url": receiver.url("x")}, headers=tokens.bearer("cpia2", "operator")
        )
        other = await app.post(
            "/webhooks", json={"url": receiver.url("x"), "agency": "pioltello-casa"}, headers=tokens.bearer(*ADMIN)
        )
        unknown = await app.post(
            "/webhooks",
            json={"url": receiver.url("x"), "agency": "atlantis"},
            headers=tokens.bearer("atlantis", "system", sub="svc"),
        )
        bad_topic = await register(app, tokens, receiver.url("x"), ["approved"])
    assert (operator.status_code, operator.json()["type"]) == (403, "/problems/forbidden")
    assert (other.status_code, other.json()["type"]) == (404, "/problems/unknown-agency")
    assert (unknown.status_code, unknown.json()["type"]) == (404, "/problems/unknown-agency")
    assert bad_topic.status_code == 422 and "unknown event types" in bad_topic.json()["detail"]


async def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(
    notifications_factory, receiver, events, tokens
):
    async with notifications_factory(webhook_rotation_grace_seconds=3600) as app:
        old = (await register(app, tokens, receiver.url("rotating"))).json()
        answer = await app.post(f"/webhooks/{old['id']}/rotate-secret", headers=tokens.bearer(*ADMIN))
        assert answer.status_code == 200, answer.text
        rotated = answer.json()
        shown = (await app.get(f"/webhooks/{old['id']}", headers=tokens.bearer(*ADMIN))).json()
        await events.requested("ref-1")
        await until(lambda: receiver.hits["rotating"])
    assert rotated["secret"].startswith("whsec_") and rotated["secret"] != old["secret"]
    grace = datetime.fromisoformat(rotated["previous_secret_until"]) - datetime.now(UTC)
    assert timedelta(minutes=59) < grace <= timedelta(hours=1)
    assert "secret" not in shown and shown["previous_secret_until"] == rotated["previous_secret_until"]
    [hit] = receiver.hits["rotating"]
    assert len(hit.headers["webhook-signature"].split(" ")) == 2
    for secret in (old["secret"], rotated["secret"]):  # a receiver with either one verifies
        assert Webhook(secret).verify(hit.body, hit.headers)["data"]["referral_id"] == "ref-1"


async def test_without_a_grace_period_the_old_secret_stops_at_once(notifications_factory, receiver, events, tokens):
    async with notifications_factory(webhook_rotation_grace_seconds=0) as app:
        old = (await register(app, tokens, receiver.url("rotating"))).json()
        rotated = (await app.post(f"/webhooks/{old['id']}/rotate-secret", headers=tokens.bearer(*ADMIN))).json()
        await events.requested("ref-1")
        await until(lambda: receiver.hits["rotating"])
    assert rotated["previous_secret_until"] is None
    [hit] = receiver.hits["rotating"]
    assert Webhook(rotated["secret"]).verify(hit.body, hit.headers)["data"]["referral_id"] == "ref-1"
    with pytest.raises(WebhookVerificationError):
        Webhook(old["secret"]).verify(hit.body, hit.headers)


async def test_an_endpoint_disabled_by_410_is_enabled_again_by_its_admin(
    notifications_factory, receiver, events, js, tokens
):
    receiver.plans["back"] = [410]
    async with notifications_factory() as app:
        hook = (await register(app, tokens, receiver.url("back"))).json()
        requested = await events.requested("ref-1")

        await eventually(lambda: disabled(app, tokens, hook["id"]))
        operator = await app.post(f"/webhooks/{hook['id']}/enable", headers=tokens.bearer("cpia2", "operator"))
        stranger = await app.post(
            f"/webhooks/{hook['id']}/enable", headers=tokens.bearer("pioltello-casa", "admin", sub="admin-casa")
        )
        answer = await app.post(f"/webhooks/{hook['id']}/enable", headers=tokens.bearer(*ADMIN))
        await events.step(requested, EventName.CANCELLED, reason_code="withdrawn")
        await until(lambda: len(receiver.hits["back"]) == 2)
        record = await eventually(lambda: _settled(app, tokens, hook["id"], 2))
    assert (operator.status_code, operator.json()["type"]) == (403, "/problems/forbidden")
    assert (stranger.status_code, stranger.json()["type"]) == (404, "/problems/webhook-not-found")
    assert answer.status_code == 200, answer.text
    assert answer.json()["active"] is True and answer.json()["disabled_reason"] is None
    payloads = [Webhook(hook["secret"]).verify(hit.body, hit.headers) for hit in receiver.hits["back"]]
    assert [p["type"] for p in payloads] == ["referral.requested", "referral.cancelled"]
    # Newest first: the event after enabling went out; the one refused with 410 stays failed.
    assert [(d["payload"]["type"], d["status"]) for d in record] == [
        ("referral.cancelled", "sent"),
        ("referral.requested", "failed"),
    ]


async def _settled(app, tokens, webhook_id: str, count: int) -> list[dict] | None:
    record = await deliveries(app, tokens, webhook_id)
    return record if len(record) == count and all(d["status"] in ("sent", "failed") for d in record) else None


async def test_an_endpoint_whose_address_is_no_longer_allowed_stays_disabled(notifications_factory, receiver, tokens):
    async with notifications_factory() as app:
        hook = (await register(app, tokens, receiver.url("moved"))).json()
        assert (await app.delete(f"/webhooks/{hook['id']}", headers=tokens.bearer(*ADMIN))).status_code == 204
    async with notifications_factory(webhook_allowed_hosts=[]) as app:  # loopback is not exempt any more
        answer = await app.post(f"/webhooks/{hook['id']}/enable", headers=tokens.bearer(*ADMIN))
        after = (await app.get(f"/webhooks/{hook['id']}", headers=tokens.bearer(*ADMIN))).json()
    assert (answer.status_code, answer.json()["type"]) == (422, "/problems/forbidden-url")
    assert "loopback" in answer.json()["detail"]
    assert after["active"] is False and after["disabled_reason"] == "disabled by admin-cpia2"
