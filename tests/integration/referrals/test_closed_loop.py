"""Two nodes on a real NATS server: a referral goes out, arrives, and is acknowledged."""

from __future__ import annotations

from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually


async def test_a_sent_referral_is_received_and_the_sender_sees_it(node_factory, tokens):
    async with node_factory("pioltello-casa") as casa, node_factory("cpia2") as cpia:
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        assert created.status_code == 201, created.text
        referral = created.json()
        assert referral["status"] == "requested"

        async def received_at_sender():
            r = await casa.get(f"/referrals/{referral['id']}", headers=tokens.bearer("pioltello-casa"))
            return r.json()["status"] == "received" and r.json()

        seen = await eventually(received_at_sender)
        assert [h["event"] for h in seen["history"]] == ["requested", "received"]

        incoming = await cpia.get("/referrals?direction=incoming", headers=tokens.bearer("cpia2"))
        items = incoming.json()["items"]
        assert [i["id"] for i in items] == [referral["id"]]
        assert items[0]["person"]["given_name"] == "Amina"
        assert items[0]["reason"] == "Italian course A1"
        assert items[0]["allowed_actions"] == ["accept", "reject", "request-info"]
