"""A referral sent between two real nodes reaches the inbox of the people who must act,
once, whatever NATS redelivers."""

from __future__ import annotations

import json

import nats

from tests.integration.conftest import referral_body
from tests.integration.notifications.support import until
from tests.kit.services import eventually

REQUESTED = "referral.v1.pioltello-casa.cpia2.requested"


async def inbox_of(client, tokens, agency: str, sub: str) -> list[dict]:
    answer = await client.get("/inbox", headers=tokens.bearer(agency, "operator", sub=sub))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_a_requested_referral_reaches_the_receiving_operators_inbox_once(
    node_factory, notifications_factory, tokens, nats_url, database_url
):
    async with (
        node_factory("pioltello-casa") as casa,
        node_factory("cpia2") as _cpia,
        notifications_factory(database_url) as notifications,
    ):
        created = await casa.post(
            "/referrals", json=referral_body(service_id="main-service"), headers=tokens.bearer("pioltello-casa")
        )
        assert created.status_code == 201, created.text
        referral_id = created.json()["id"]

        items = await eventually(lambda: inbox_of(notifications, tokens, "cpia2", "operator-cpia2"))
        assert len(items) == 1
        item = items[0]
        assert item["referral_id"] == referral_id
        assert (item["event"], item["kind"], item["status"]) == ("requested", "event", "requested")
        assert (item["sender_agency"], item["receiver_agency"]) == ("pioltello-casa", "cpia2")
        assert (item["service_id"], item["priority"]) == ("main-service", "routine")
        assert item["link"].endswith(f"/ui/referrals/{referral_id}"), "people open the node's page"
        assert item["title"] == "Nuovo invio da PIOLTELLO-CASA per Main service of cpia2"  # the node's entry
        assert item["read_at"] is None
        text = json.dumps(item)
        assert "Amina" not in text and "Italian course" not in text  # nothing about the person

        # The sender's operator who created it hears that cpia2's node received it.
        sender_items = await eventually(
            lambda: inbox_of(notifications, tokens, "pioltello-casa", "operator-pioltello-casa")
        )
        assert [(i["event"], i["referral_id"]) for i in sender_items] == [("received", referral_id)]
        assert await inbox_of(notifications, tokens, "pioltello-casa", "op-1") == []
        # The supervisor is not the one who must act on a new referral.
        assert await inbox_of(notifications, tokens, "cpia2", "supervisor-cpia2") == []

        nc = await nats.connect(nats_url)
        try:
            js = nc.jetstream()
            original = await js.get_last_msg("REFERRALS", REQUESTED)
            event_id = original.headers["Nats-Msg-Id"]
            same_id = await js.publish(REQUESTED, original.data, headers={"Nats-Msg-Id": event_id})
            assert same_id.duplicate  # JetStream drops it within the window
            replayed = await js.publish(REQUESTED, original.data, headers={"Nats-Msg-Id": f"replay-{event_id}"})
            assert not replayed.duplicate  # stored again: only the consumer's inbox can stop it

            async def consumed_replay() -> bool:
                info = await js.consumer_info("REFERRALS", "notifications")
                return info.ack_floor.stream_seq >= replayed.seq and info.num_ack_pending == 0

            await eventually(consumed_replay)
        finally:
            await nc.close()

        items = await inbox_of(notifications, tokens, "cpia2", "operator-cpia2")
        assert [i["referral_id"] for i in items] == [referral_id]


async def test_a_rejection_between_real_nodes_reaches_the_sender_who_asked_in_their_language(
    node_factory, notifications_factory, tokens, mail_settings, smtp
):
    async with (
        node_factory("pioltello-casa") as casa,
        node_factory("cpia2") as cpia,
        notifications_factory(**mail_settings) as notifications,
    ):
        created = await casa.post(
            "/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa", sub="op-1")
        )
        referral_id = created.json()["id"]
        await eventually(lambda: inbox_of(notifications, tokens, "cpia2", "operator-cpia2"))
        rejected = await cpia.post(
            f"/referrals/{referral_id}/reject",
            json={"reason_code": "no-capacity", "note": "Amina: course full until March"},
            headers=tokens.bearer("cpia2"),
        )
        assert rejected.status_code == 200, rejected.text

        async def told_of_rejection() -> list[dict]:
            items = await inbox_of(notifications, tokens, "pioltello-casa", "op-1")
            return [i for i in items if i["event"] == "rejected"]

        [item] = await eventually(told_of_rejection)
        [mail] = await until(lambda: [m for m in smtp.to("op-1@staff.test") if "rifiutato" in m["Subject"]])
        assert await inbox_of(notifications, tokens, "pioltello-casa", "operator-pioltello-casa") == []
    assert (item["status"], item["referral_id"]) == ("rejected", referral_id)
    assert item["title"] == "CPIA2 ha rifiutato il vostro invio"  # the name in cpia2's directory entry
    assert "Motivo: no-capacity" in item["body"]
    assert mail["Subject"] == item["title"]
    # The sealed note and the person's name never reach a notification.
    assert "Amina" not in item["body"] + mail.get_content() and "March" not in mail.get_content()
