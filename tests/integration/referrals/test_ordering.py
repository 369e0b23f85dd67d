"""Events about one referral are applied in the order their node sent them, once: a copy
under another id changes nothing, and a step that comes before the one it follows (only a
broken or hostile publisher can do that: a node's outbox publishes in commit order) is
dead-lettered after a bounded number of tries, without holding up the rest for long."""

from __future__ import annotations

import json

import nats
from sqlalchemy import select

from crocevia_referrals.adapters.tables import messaging
from tests.integration.referrals.conftest import referral_body
from tests.kit.nats import NatsProcess
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


async def _held_events(node_factory, casa, cpia, tokens, rid_holder):
    runtime = node_factory.apps[CPIA].state.runtime
    runtime.relay.wake = lambda *_: None  # hold cpia2's events in its outbox; the test delivers them
    rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
    rid_holder.append(rid)

    async def stored():
        return (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).status_code == 200

    await eventually(stored)
    for action in ("accept", "start"):
        assert (await cpia.post(f"/referrals/{rid}/{action}", headers=tokens.bearer(CPIA))).status_code == 200
    async with runtime.db.connect() as session:
        rows = (await session.execute(select(messaging.outbox).order_by(messaging.outbox.c.position))).all()
    assert [r.subject.rsplit(".", 1)[1] for r in rows] == ["received", "accepted", "in-progress"]
    return rows


async def test_a_step_published_twice_under_another_id_is_applied_once(node_factory, tokens, nats_url, database_url):
    async with (
        node_factory(CASA, database_url=database_url) as casa,
        node_factory(CPIA, outbox_poll_seconds=3600) as cpia,
    ):
        rids: list[str] = []
        received, accepted, started = await _held_events(node_factory, casa, cpia, tokens, rids)
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        for row, msg_id in [
            (received, received.event_id),
            (accepted, accepted.event_id),
            (accepted, "another-id-same-event"),
            (started, started.event_id),
        ]:
            await js.publish(row.subject, row.payload, headers={**row.headers, "Nats-Msg-Id": msg_id})
        await nc.close()

        async def in_progress():
            body = (await casa.get(f"/referrals/{rids[0]}", headers=tokens.bearer(CASA))).json()
            return body["status"] == "in-progress" and body

        final = await eventually(in_progress, timeout=30)
        assert [h["event"] for h in final["history"]] == ["requested", "received", "accepted", "in-progress"]


async def test_a_step_before_the_one_it_follows_is_dead_lettered_and_the_rest_applied_in_order(
    node_factory, tokens, nats_server: NatsProcess, database_url
):
    async with (
        node_factory(CASA, database_url=database_url, consumer_max_deliveries=3, redelivery_delay_seconds=0.1) as casa,
        node_factory(CPIA, outbox_poll_seconds=3600) as cpia,
    ):
        rids: list[str] = []
        received, accepted, started = await _held_events(node_factory, casa, cpia, tokens, rids)
        nc = await nats.connect(nats_server.url)
        js = nc.jetstream()
        for row in (started, received, accepted):
            await js.publish(row.subject, row.payload, headers={**row.headers, "Nats-Msg-Id": row.event_id})

        async def accepted_at_casa():
            body = (await casa.get(f"/referrals/{rids[0]}", headers=tokens.bearer(CASA))).json()
            return body["status"] == "accepted" and body

        final = await eventually(accepted_at_casa, timeout=30)
        letters = [json.loads((await js.get_msg("DEADLETTERS", 1)).data)]
        await nc.close()
    assert [h["event"] for h in final["history"]] == ["requested", "received", "accepted"]
    assert [(d["consumer"], d["reason"]) for d in letters] == [
        (f"referrals-{CASA}", "gave up after 3 tries: step 3 came before step 1")
    ]


async def test_lists_filter_and_page_with_a_cursor(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        ids = []
        for i, priority in enumerate(["routine", "urgent", "routine", "urgent", "routine"]):
            r = await casa.post(
                "/referrals", json=referral_body(priority=priority, reason=f"r{i}"), headers=tokens.bearer(CASA)
            )
            ids.append(r.json()["id"])

        async def all_received():
            page = (await cpia.get("/referrals?direction=incoming&limit=50", headers=tokens.bearer(CPIA))).json()
            return len(page["items"]) == 5

        await eventually(all_received)
        await cpia.post(f"/referrals/{ids[0]}/accept", headers=tokens.bearer(CPIA))
        await cpia.post(f"/referrals/{ids[1]}/reject", json={"reason_code": "duplicate"}, headers=tokens.bearer(CPIA))

        seen, cursor = [], None
        while True:
            url = "/referrals?direction=incoming&include_closed=true&limit=2" + (f"&cursor={cursor}" if cursor else "")
            page = (await cpia.get(url, headers=tokens.bearer(CPIA))).json()
            seen += [i["id"] for i in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert seen == list(reversed(ids)), "newest first, every referral once"

        async def ids_for(query):
            page = await cpia.get(f"/referrals?{query}", headers=tokens.bearer(CPIA))
            return [i["id"] for i in page.json()["items"]]

        assert await ids_for("priority=urgent&include_closed=true") == [ids[3], ids[1]]
        assert await ids_for("priority=urgent") == [ids[3]], "open ones unless asked"
        assert await ids_for("status=accepted&status=rejected") == [ids[1], ids[0]]
        assert set(await ids_for("waiting_for_us=true")) == {ids[0], ids[2], ids[3], ids[4]}
        assert await ids_for("counterpart=csl-lavoro") == []
        assert await ids_for("direction=outgoing") == []
        assert len(await ids_for(f"counterpart={CASA}&service_id=main-service&include_closed=true")) == 5
        bad = await cpia.get("/referrals?cursor=garbage", headers=tokens.bearer(CPIA))
        assert bad.status_code == 400 and bad.json()["type"] == "/problems/invalid-cursor"
        bad = await cpia.get("/referrals?status=lost", headers=tokens.bearer(CPIA))
        assert bad.status_code == 422
