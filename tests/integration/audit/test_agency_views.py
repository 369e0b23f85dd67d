"""Who sees which part of the trail: the steering committee (role ``network-auditor``) the
whole network; an agency's auditor only the referrals its agency sends or receives and the
notices sent to it, in every route and page that shows entries or facts about referrals.
The checkpoints and the key stay open to anyone."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert

from crocevia_audit.adapters.tables import anomalies, sequence_gaps
from crocevia_audit.bootstrap import create_app
from crocevia_common.web.session_cookie import SESSION_COOKIE
from crocevia_contracts import agency_source
from tests.integration.audit.events import Network, checked
from tests.kit.services import eventually, serve

NETWORK = ("steering-committee", "network-auditor")
# What each one's view holds: r1 pioltello-casa -> cpia2 (3 events and a reminder to cpia2),
# r2 pioltello-casa -> csl-lavoro (3 events and a reminder to csl-lavoro), r3 cpia2 ->
# pioltello-casa (1 event).
VIEWS = {
    "cpia2": ["r1:requested", "r1:received", "r1:accepted", "r1:reminder", "r3:requested"],
    "csl-lavoro": ["r2:requested", "r2:received", "r2:rejected", "r2:reminder"],
    "steering-committee": [],
}
EVERYTHING = sorted({*VIEWS["cpia2"], *VIEWS["csl-lavoro"]})
PAIRS = {
    "cpia2": [("cpia2", "pioltello-casa"), ("pioltello-casa", "cpia2")],
    "csl-lavoro": [("pioltello-casa", "csl-lavoro")],
    "steering-committee": [],
}


def the_network():
    net = Network()
    return [
        *net.story("r1", [("requested", 0), ("received", 1), ("accepted", 5)]),
        net.notice("reminder", "r1", agency="cpia2"),
        *net.story(
            "r2",
            [("requested", 2), ("received", 3), ("rejected", 4)],
            receiver="csl-lavoro",
            extras={"rejected": {"reason_code": "no-capacity"}},
        ),
        net.notice("reminder", "r2", receiver="csl-lavoro", agency="csl-lavoro"),
        *net.story("r3", [("requested", 6)], sender="cpia2", receiver="pioltello-casa"),
    ]


async def gaps_and_anomalies(app) -> None:
    """A gap and an anomaly for each of cpia2 and csl-lavoro."""
    now = datetime.now(UTC)
    async with app.state.audit.db.transaction() as session:
        for agency in ("cpia2", "csl-lavoro"):
            source = agency_source(agency)
            await session.execute(
                insert(sequence_gaps).values(source=source, first_missing=7, last_missing=8, detected_at=now)
            )
            await session.execute(
                insert(anomalies).values(
                    kind="repeated-sequence",
                    event_id=f"00000000-0000-7000-8000-{len(agency):012d}",
                    source=source,
                    sequence=1,
                    subject=f"referral.v1.{agency}.pioltello-casa.received",
                    payload_sha256="0" * 64,
                    detail="sequence 1 was already used",
                    detected_at=now,
                )
            )


@pytest.fixture
async def trail(audit_settings):
    app = create_app(audit_settings(checkpoint_every_seconds=0.2))
    async with serve(app) as audit:
        await app.state.audit.writer.append(checked(the_network()))
        await gaps_and_anomalies(app)

        async def signed():
            return (await audit.get("/checkpoint")).headers.get("crocevia-tree-size") == str(len(EVERYTHING))

        await eventually(signed)
        yield audit


async def entries(audit, headers, **params) -> list[str]:
    answer = await audit.get("/trail", params={"order": "oldest", "limit": 500, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    return sorted(f"{i['referral_id']}:{i['event']}" for i in answer.json()["items"])


async def test_the_network_auditor_sees_the_whole_trail(trail, tokens):
    network = tokens.bearer(*NETWORK)
    exported = await trail.get("/trail/export", headers=network)
    pairs = (await trail.get("/indicators", params={"group_by": "pair"}, headers=network)).json()["groups"]
    gaps = (await trail.get("/gaps", params={"status": "all"}, headers=network)).json()["gaps"]
    found = (await trail.get("/anomalies", headers=network)).json()["anomalies"]
    assert await entries(trail, network) == EVERYTHING
    assert len(exported.content.splitlines()) == 1 + len(EVERYTHING)
    assert json.loads(exported.content.splitlines()[0])["complete"] is True
    assert len(pairs) == 3
    assert sorted(g["source"] for g in gaps) == ["/agencies/cpia2", "/agencies/csl-lavoro"]
    assert sorted(a["source"] for a in found) == ["/agencies/cpia2", "/agencies/csl-lavoro"]


@pytest.mark.parametrize("agency", sorted(VIEWS))
async def test_an_agencys_auditor_sees_only_its_own_referrals(trail, tokens, agency):
    own = tokens.bearer(agency, "auditor")
    exported = await trail.get("/trail/export", headers=own)
    as_csv = await trail.get("/trail/export", params={"format": "csv"}, headers=own)
    pairs = (await trail.get("/indicators", params={"group_by": "pair"}, headers=own)).json()["groups"]
    gaps = (await trail.get("/gaps", params={"status": "all", "source": "/agencies/cpia2"}, headers=own)).json()
    found = (await trail.get("/anomalies", headers=own)).json()["anomalies"]
    assert await entries(trail, own) == sorted(VIEWS[agency])
    assert await entries(trail, own, agency="pioltello-casa") == sorted(VIEWS[agency])
    assert await entries(trail, own, event="reminder") == sorted(e for e in VIEWS[agency] if e.endswith("reminder"))
    lines = exported.content.splitlines()
    assert len(lines) == 1 + len(VIEWS[agency]) and json.loads(lines[0])["complete"] is False
    assert sorted(f"{json.loads(x)['event']['data'].get('referral_id')}" for x in lines[1:]) == sorted(
        e.split(":")[0] for e in VIEWS[agency]
    )
    assert len(list(csv.reader(io.StringIO(as_csv.text)))) == 1 + len(VIEWS[agency])
    assert sorted((g["group"]["sender_agency"], g["group"]["receiver_agency"]) for g in pairs) == PAIRS[agency]
    assert [g["source"] for g in gaps["gaps"]] == [agency_source(agency)] * (agency != "steering-committee")
    assert [a["source"] for a in found] == [agency_source(agency)] * (agency != "steering-committee")


async def test_an_agencys_auditor_gets_no_proof_nor_bytes_nor_timeline_of_another_agencys_referral(trail, tokens):
    network = tokens.bearer(*NETWORK)
    everything = (await trail.get("/trail", params={"limit": 500}, headers=network)).json()["items"]
    r1 = next(i["event_id"] for i in everything if i["referral_id"] == "r1")
    r2 = next(i["event_id"] for i in everything if i["referral_id"] == "r2")
    cpia2 = tokens.bearer("cpia2", "auditor")
    own_proof = await trail.get("/proofs/inclusion", params={"event_id": r1}, headers=cpia2)
    other_proof = await trail.get("/proofs/inclusion", params={"event_id": r2}, headers=cpia2)
    other_referral = await entries(trail, cpia2, referral_id="r2")
    trail.cookies.set(SESSION_COOKIE, tokens.session("cpia2", "auditor"))
    pages = {
        "own bytes": await trail.get(f"/ui/trail/entries/{r1}"),
        "other bytes": await trail.get(f"/ui/trail/entries/{r2}"),
        "own timeline": await trail.get("/ui/referrals/r1"),
        "other timeline": await trail.get("/ui/referrals/r2"),
        "other proof": await trail.get("/ui/proofs/inclusion", params={"event_id": r2}),
    }
    trail_page = await trail.get("/ui/trail")
    verified = await trail.get("/verify", headers=cpia2)
    assert (own_proof.status_code, other_proof.status_code) == (200, 404)
    assert other_referral == []
    assert {name: page.status_code for name, page in pages.items()} == {
        "own bytes": 200,
        "other bytes": 404,
        "own timeline": 200,
        "other timeline": 404,
        "other proof": 404,
    }
    assert "csl-lavoro" not in trail_page.text and r2 not in trail_page.text
    assert verified.status_code == 200 and verified.json()["ok"] is True


async def test_checkpoints_and_consistency_proofs_stay_open_to_anyone(trail):
    checkpoint = await trail.get("/checkpoint")
    key = await trail.get("/checkpoint/key")
    consistency = await trail.get("/proofs/consistency", params={"from": 1, "to": len(EVERYTHING)})
    assert (checkpoint.status_code, key.status_code, consistency.status_code) == (200, 200, 200)
