"""The audit's consumer on a real NATS server: order, batches, dead letters, duplicates,
gaps raised and closed, and no way to change what was recorded."""

from __future__ import annotations

import base64
import json

from crocevia_audit.bootstrap import create_app
from tests.integration.audit.events import Network
from tests.integration.audit.wire import jetstream, publish, stored
from tests.kit.services import eventually, serve


async def trail(client, headers, **params) -> list[dict]:
    answer = await client.get("/trail", params={"order": "oldest", "limit": 500, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


async def test_waiting_events_are_appended_in_stream_order_a_batch_at_a_time(audit_settings, nats_url, tokens):
    net = Network()
    deliveries = [
        net.event("requested", f"ref-{i}", sender=("pioltello-casa", "csl-lavoro")[i % 2]) for i in range(250)
    ]
    app = create_app(audit_settings(batch_size=100))
    auditor = tokens.bearer("network", "network-auditor")
    async with serve(app) as audit:
        async with jetstream(nats_url) as js:
            await publish(js, deliveries)

        async def all_in():
            return len(await trail(audit, auditor)) == 250

        await eventually(all_in, timeout=20)
        items = await trail(audit, auditor)
    assert [i["referral_id"] for i in items] == [f"ref-{i}" for i in range(250)]
    assert [i["position"] for i in items] == list(range(250))
    assert app.state.consumer.batches < 250
    assert app.state.audit.writer.counts["appended"] == 250


async def test_malformed_and_unknown_events_are_dead_lettered_with_the_reason_and_the_consumer_goes_on(
    audit_factory, nats_url, tokens
):
    net = Network()
    good = net.event("requested", "ref-1")
    unknown = json.dumps(
        {
            **json.loads(good.payload),
            "id": "0190c3a0-0000-7000-8000-000000000001",
            "type": "org.crocevia.referral.teleported.v1",
        }
    ).encode()
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await js.publish(good.subject, b"{this is not json")
        await js.publish(good.subject, unknown)
        await publish(js, [good])

        async def one_entry():
            return len(await trail(audit, tokens.bearer("x", "network-auditor"))) == 1

        await eventually(one_entry)
        letters = await eventually(lambda: _dead_letters(js, 2))
    reasons = [headers["Crocevia-Reason"] for _, headers in letters]
    assert reasons[0].startswith("payload is not JSON")
    assert reasons[1] == "type is not a v1 referral event type"
    payloads = [base64.b64decode(json.loads(body)["payload_base64"]) for body, _ in letters]
    assert payloads == [b"{this is not json", unknown]


async def _dead_letters(js, count):
    found = await stored(js, "DEADLETTERS", "deadletter.audit")
    return len(found) >= count and found


async def test_a_replayed_event_is_recorded_once_and_reported_as_a_duplicate(audit_factory, nats_url, tokens):
    net = Network()
    event = net.event("requested", "ref-1")
    auditor = tokens.bearer("x", "network-auditor")
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await publish(js, [event, event], dedupe=False)  # past JetStream's deduplication window

        async def duplicate_reported():
            r = await audit.get("/anomalies", headers=auditor)
            return r.json()["anomalies"]

        [anomaly] = await eventually(duplicate_reported)
        assert len(await trail(audit, auditor)) == 1
    assert (anomaly["kind"], anomaly["event_id"]) == ("duplicate", json.loads(event.payload)["id"])


async def test_a_gap_is_listed_raised_after_the_grace_period_and_closed_by_the_late_event(
    audit_factory, nats_url, tokens
):
    net = Network()
    one, two, three = (net.event("requested", f"ref-{i}") for i in (1, 2, 3))
    auditor = tokens.bearer("x", "network-auditor")
    async with audit_factory(gap_grace_seconds=0.3, gap_check_seconds=0.1) as audit, jetstream(nats_url) as js:
        await publish(js, [one, three])

        async def open_gaps():
            return (await audit.get("/gaps", headers=auditor)).json()["gaps"]

        [gap] = await eventually(open_gaps)
        assert (gap["source"], gap["first_missing"], gap["last_missing"]) == ("/agencies/pioltello-casa", 2, 2)
        [(raised, _)] = await eventually(lambda: stored(js, "AUDIT", "audit.v1.gap"))
        assert json.loads(raised)["first_missing"] == 2
        staff = (await audit.get("/gaps", headers=tokens.bearer("cpia2"))).json()["gaps"]
        assert staff == []  # cpia2's own events have no gap
        await publish(js, [two])
        await eventually(lambda: _no_open(audit, auditor))
        [closed] = (await audit.get("/gaps", params={"status": "closed"}, headers=auditor)).json()["gaps"]
        assert closed["closed_by_event_id"] == json.loads(two.payload)["id"]
        [(note, _)] = await eventually(lambda: stored(js, "AUDIT", "audit.v1.gap-closed"))
        assert json.loads(note)["still_missing"] == []


async def _no_open(audit, headers):
    return (await audit.get("/gaps", headers=headers)).json()["gaps"] == []


async def test_no_interface_can_change_or_delete_an_entry(audit_settings, tokens):
    app = create_app(audit_settings())
    paths = app.openapi()["paths"]
    assert {"/trail", "/trail/export", "/checkpoint", "/proofs/inclusion", "/verify", "/indicators"} <= set(paths)
    assert {method for operations in paths.values() for method in operations} == {"get"}
    auditor = tokens.bearer("x", "network-auditor", "admin")
    async with serve(app) as audit:
        for method in ("POST", "PUT", "PATCH", "DELETE"):
            for path in ("/trail", "/checkpoint", "/gaps"):
                answer = await audit.request(method, path, headers=auditor, json={})
                assert answer.status_code == 405, (method, path)
                assert answer.headers["content-type"] == "application/problem+json"


async def test_a_deleted_durable_consumer_is_made_again_and_nothing_is_missed(audit_factory, nats_url, tokens):
    net = Network()
    auditor = tokens.bearer("x", "network-auditor")
    async with audit_factory() as audit, jetstream(nats_url) as js:
        await publish(js, [net.event("requested", "ref-1")])
        await eventually(lambda: _count(audit, auditor, 1))
        await js.delete_consumer("REFERRALS", "audit")  # an operator's mistake, or a lost consumer
        await publish(js, [net.event("requested", f"ref-{i}") for i in range(2, 5)])
        await eventually(lambda: _count(audit, auditor, 4), timeout=20)
        items = await trail(audit, auditor)
        info = await js.consumer_info("REFERRALS", "audit")
    assert [i["referral_id"] for i in items] == ["ref-1", "ref-2", "ref-3", "ref-4"]  # ref-1 not twice
    assert info.num_pending == 0


async def _count(audit, auditor, n: int) -> bool:
    return len(await trail(audit, auditor)) == n
