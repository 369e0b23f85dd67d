"""A referral sent between two real nodes leaves a public trail, and nothing personal."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import create_async_engine

from crocevia_audit.adapters.tables import trail_entries
from crocevia_common.tlog.merkle import leaf_hash
from tests.integration.conftest import referral_body
from tests.kit.services import eventually

PERSONAL_VALUES = ("Amina", "Italian course A1")


async def raw_trail_rows(database_url: str) -> list[dict]:
    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(select(trail_entries))).mappings()]
    finally:
        await engine.dispose()


async def test_a_referral_leaves_requested_and_received_in_the_trail_without_personal_details(
    node_factory, audit_factory, tokens, database_url, tmp_path
):
    auditor = tokens.bearer("network", "network-auditor")
    async with audit_factory(database_url) as audit, node_factory("pioltello-casa") as casa, node_factory("cpia2"):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        assert created.status_code == 201, created.text
        referral_id = created.json()["id"]

        async def both_events():
            r = await audit.get("/trail", params={"referral_id": referral_id, "order": "oldest"}, headers=auditor)
            assert r.status_code == 200, r.text
            return len(r.json()["items"]) == 2 and r.json()["items"]

        items = await eventually(both_events)
        assert [i["event"] for i in items] == ["requested", "received"]
        assert [i["position"] for i in items] == [0, 1]
        assert [(i["from_agency"], i["to_agency"]) for i in items] == [
            ("pioltello-casa", "cpia2"),
            ("cpia2", "pioltello-casa"),
        ]
        assert {(i["sender_agency"], i["receiver_agency"]) for i in items} == {("pioltello-casa", "cpia2")}
        assert [(i["source"], i["sequence"]) for i in items] == [
            ("/agencies/pioltello-casa", 1),
            ("/agencies/cpia2", 1),
        ]
        assert all(value not in json.dumps(items) for value in PERSONAL_VALUES)

    rows = await raw_trail_rows(database_url)
    assert len(rows) == 2
    for row in rows:
        assert row["leaf_hash"] == leaf_hash(row["entry"])
        dumped = repr(row)
        assert all(value not in dumped for value in PERSONAL_VALUES)
    requested = json.loads(rows[0]["entry"])
    assert "sealed" not in requested["event"]["data"]
    assert len(requested["event"]["data"]["sealed_sha256"]) == 64
    assert requested["event"]["data"]["legal_basis"]["basis"] == "consent"
    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
        assert all(value.encode() not in stored for value in PERSONAL_VALUES)


async def test_staff_see_only_entries_where_their_agency_is_a_party(node_factory, audit_factory, tokens):
    async with audit_factory() as audit, node_factory("pioltello-casa") as casa, node_factory("cpia2"):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer("pioltello-casa"))
        referral_id = created.json()["id"]

        async def seen_by(agency: str, role: str = "operator") -> list:
            r = await audit.get("/trail", params={"referral_id": referral_id}, headers=tokens.bearer(agency, role))
            assert r.status_code == 200, r.text
            return r.json()["items"]

        async def cpia_sees_both():
            return len(await seen_by("cpia2")) == 2

        await eventually(cpia_sees_both)
        assert len(await seen_by("pioltello-casa", "supervisor")) == 2
        assert await seen_by("csl-lavoro") == []
        assert (await audit.get("/trail")).status_code == 401
        assert (await audit.get("/trail", headers=tokens.bearer("cpia2", "system"))).status_code == 403
