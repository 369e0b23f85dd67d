"""Events that can never be applied go to the dead-letter subject with the reason, change
nothing, and do not stop the consumer."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from nats.js.api import ConsumerConfig, DeliverPolicy

from crocevia_contracts import Envelope
from crocevia_contracts.events import Requested
from tests.integration.notifications.support import consumed
from tests.kit.services import eventually


def requested(referral_id: str, sender: str = "pioltello-casa", receiver: str = "cpia2") -> Envelope:
    data = Requested(
        referral_id=referral_id,
        sender_agency=sender,
        receiver_agency=receiver,
        service_id="main-service",
        priority="routine",
        occurred_at=datetime.now(UTC),  # type: ignore[arg-type]
        legal_basis={"basis": "public-task"},
    )  # type: ignore[arg-type]
    return Envelope.build(source_agency=sender, sequence=1, data=data)


async def dead_letters(js) -> list[dict]:
    sub = await js.pull_subscribe(
        "deadletter.notifications", stream="DEADLETTERS", config=ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    )
    try:
        found = await sub.fetch(50, timeout=1)
    except TimeoutError:
        found = []
    finally:
        await sub.unsubscribe()
    return [json.loads(m.data) for m in found]


@pytest.mark.parametrize(
    ("subject", "payload", "reason"),
    [
        ("referral.v1.pioltello-casa.cpia2.requested", b"{not json", "payload is not JSON"),
        (
            "referral.v1.pioltello-casa.cpia2.requested",
            b'{"type": "org.example.other"}',
            "type is not a v1 referral event type",
        ),
        (
            "referral.v1.pioltello-casa.cpia2.accepted",
            requested("r-1").to_json(),
            "the subject's event is not data.event",
        ),
        (
            "referral.v1.csl-lavoro.cpia2.requested",
            requested("r-1").to_json(),
            "source names another agency than the subject's publisher",
        ),
        (
            "referral.v1.pioltello-casa.atlantis.requested",
            requested("r-1", receiver="atlantis").to_json(),
            "a party of the referral is not in the directory",
        ),
        (
            "referral.v1.pioltello-casa.cpia2.teleported",
            requested("r-1").to_json(),
            "unknown event in the subject's last token",
        ),
    ],
)
async def test_a_bad_event_is_dead_lettered_with_its_reason_and_changes_nothing(
    notifications_factory, js, events, tokens, subject, payload, reason
):
    async with notifications_factory() as app:
        # Signed by a real agency: what is refused is the event, not a missing signature.
        headers = await events.signers.headers("pioltello-casa", payload, **{"Nats-Msg-Id": "bad-1"})
        await js.publish(subject, payload, headers=headers)
        await events.requested("good-1")  # the consumer goes on
        await eventually(lambda: consumed(js))
        items = (await app.get("/inbox", headers=tokens.bearer("cpia2", sub="operator-cpia2"))).json()["items"]
        letters = await eventually(lambda: dead_letters(js))
    assert [i["referral_id"] for i in items] == ["good-1"]
    assert len(letters) == 1
    assert reason in letters[0]["reason"]
    assert letters[0]["subject"] == subject


async def test_a_second_request_of_the_same_referral_is_dead_lettered(notifications_factory, js, events, tokens):
    async with notifications_factory() as app:
        data = await events.requested("r-1")
        await events.publish(data)  # a new event id claiming the same referral is new again
        await eventually(lambda: consumed(js))
        items = (await app.get("/inbox", headers=tokens.bearer("cpia2", sub="operator-cpia2"))).json()["items"]
        letters = await eventually(lambda: dead_letters(js))
    assert len(items) == 1
    assert [letter["reason"] for letter in letters] == ["the referral was requested already"]
