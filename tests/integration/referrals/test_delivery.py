"""Delivery guarantees between nodes: nothing lost, nothing applied twice, nothing leaked."""

from __future__ import annotations

import json

import nats
import pytest

from crocevia_contracts import parse_envelope
from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


@pytest.fixture
def nats_server(nats_process):
    """These tests stop and restart the server: always a local process."""
    return nats_process


async def stream_messages(nats_url: str, stream: str = "REFERRALS") -> list:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info(stream)
        if info.state.messages == 0:
            return []
        return [await js.get_msg(stream, seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
    finally:
        await nc.close()


async def test_no_personal_value_travels_in_clear_on_nats(node_factory, tokens, nats_url):
    body = referral_body(
        needs="Evicted in October, two children",
        person={"given_name": "Amina", "family_name": "Khaldi", "languages": ["ar"], "phone": "+39 333 1234567"},
    )
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        rid = (await casa.post("/referrals", json=body, headers=tokens.bearer(CASA))).json()["id"]

        await eventually(lambda: _at_least(lambda: stream_messages(nats_url), 2))
        asked = await cpia.post(
            f"/referrals/{rid}/request-info", json={"question": "Is Khaldi reachable?"}, headers=tokens.bearer(CPIA)
        )
        assert asked.status_code == 200
        msgs = await eventually(lambda: _at_least(lambda: stream_messages(nats_url), 3))
    raw = b"".join(m.data + json.dumps(dict(m.headers or {})).encode() for m in msgs)
    assert [m.subject.rsplit(".", 1)[1] for m in msgs] == ["requested", "received", "info-requested"]
    for secret in (b"Amina", b"Khaldi", b"333 1234567", b"Evicted", b"Italian course", b"reachable"):
        assert secret not in raw, secret
    assert parse_envelope(msgs[0].data).data.sealed is not None


async def test_the_outbox_keeps_events_while_nats_is_down_and_publishes_them_in_order(
    node_factory, tokens, nats_server
):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        first = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]

        async def received(rid):
            r = await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))
            return r.status_code == 200

        await eventually(lambda: received(first))
        nats_server.stop()
        ids = []
        for i in range(3):
            r = await casa.post("/referrals", json=referral_body(reason=f"r{i}"), headers=tokens.bearer(CASA))
            assert r.status_code == 201, "the API keeps answering while NATS is down"
            ids.append(r.json()["id"])
        nats_server.start()
        for rid in ids:
            await eventually(lambda rid=rid: received(rid), timeout=30)
        msgs = await stream_messages(nats_server.url)
    from_casa = [parse_envelope(m.data) for m in msgs if m.subject.startswith(f"referral.v1.{CASA}.")]
    assert [e.sequence for e in from_casa] == [1, 2, 3, 4], "gapless, in order"
    assert [e.subject for e in from_casa] == [first, *ids]
    assert len({m.headers["Nats-Msg-Id"] for m in msgs}) == len(msgs), "each event stored once"


async def test_a_forged_event_is_dead_lettered_with_the_reason_and_not_applied(node_factory, tokens, nats_url):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await eventually(lambda: _found(cpia, tokens, rid))
        genuine = (await stream_messages(nats_url))[0]
        nc = await nats.connect(nats_url)
        js = nc.jetstream()
        forged = json.loads(genuine.data)
        forged["id"] = forged["id"][:-4] + "beef"
        forged["subject"] = forged["data"]["referral_id"] = "forged-1"
        # Same signature header, different bytes: the signature no longer verifies.
        await js.publish(
            genuine.subject, json.dumps(forged).encode(), headers={**dict(genuine.headers), "Nats-Msg-Id": forged["id"]}
        )
        # Claims to come from csl-lavoro while the subject says pioltello-casa.
        spoofed = json.loads(genuine.data)
        spoofed["id"] = spoofed["id"][:-4] + "cafe"
        spoofed["source"] = "/agencies/csl-lavoro"
        await js.publish(
            genuine.subject,
            json.dumps(spoofed).encode(),
            headers={**dict(genuine.headers), "Nats-Msg-Id": spoofed["id"]},
        )
        await nc.close()

        async def dead_letters():
            try:
                return [json.loads(m.data) for m in await stream_messages(nats_url, "DEADLETTERS")]
            except Exception:
                return []

        letters = await eventually(lambda: _at_least(dead_letters, 2))
        reasons = sorted(letter["reason"] for letter in letters)
        assert any("signature does not verify" in r for r in reasons), reasons
        assert any("source names another agency than the subject's publisher" in r for r in reasons), reasons
        assert all(letter["consumer"] == f"referrals-{CPIA}" for letter in letters)
        assert (await cpia.get("/referrals/forged-1", headers=tokens.bearer(CPIA))).status_code == 404
        listed = (await cpia.get("/referrals", headers=tokens.bearer(CPIA))).json()["items"]
        assert [i["id"] for i in listed] == [rid]


async def _found(client, tokens, rid):
    return (await client.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).status_code == 200


async def _at_least(fetch, n):
    got = await fetch()
    return got if len(got) >= n else None


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_node_on_postgresql_closes_the_loop_with_one_on_sqlite(node_factory, tokens, database_url):
    async with node_factory(CASA, database_url=database_url) as casa, node_factory(CPIA) as cpia:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await eventually(lambda: _found(cpia, tokens, rid))
        r = await cpia.post(
            f"/referrals/{rid}/reject", json={"reason_code": "no-capacity"}, headers=tokens.bearer(CPIA)
        )
        assert r.status_code == 200

        async def rejected():
            return (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()["status"] == "rejected"

        await eventually(rejected)
