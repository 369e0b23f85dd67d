"""The access log at a node, on real NATS and on SQLite and PostgreSQL: every read of a
referral's personal part is recorded with who, what and why; supervisors and the data
protection officer read it, filtered; its chain verifies, breaks when a row is edited, and
its head reaches the audit's trail with no personal value, and a log cut short after it
was anchored fails verification."""

from __future__ import annotations

import asyncio
import json

from sqlalchemy import text

from crocevia_common.db import Database
from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
PROBLEM = "application/problem+json"


async def _tamper(database_url: str, statement: str) -> None:
    """Change the node's database behind its back."""
    db = Database(database_url)
    try:
        async with db.engine.begin() as conn:
            await conn.execute(text(statement))
    finally:
        await db.dispose()


async def _sent(casa, cpia, tokens) -> str:
    """A referral from casa, received at cpia2; its id."""
    created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
    assert created.status_code == 201, created.text
    referral_id = created.json()["id"]

    async def arrived():
        r = await cpia.get(f"/referrals/{referral_id}", headers=tokens.bearer(CPIA, sub="op-warmup"))
        return r.status_code == 200

    await eventually(arrived)
    return referral_id


async def test_reads_are_recorded_with_who_what_and_why_and_read_back_filtered(node_factory, tokens, database_url):
    async with node_factory(CASA) as casa, node_factory(CPIA, database_url=database_url) as cpia:
        referral_id = await _sent(casa, cpia, tokens)
        dpo = tokens.bearer(CPIA, "dpo", sub="dpo-cpia2")

        seen = await cpia.get(f"/referrals/{referral_id}?purpose=audit", headers=tokens.bearer(CPIA, sub="op-anna"))
        assert seen.status_code == 200 and seen.json()["person"]["given_name"] == "Amina"
        listed = await cpia.get("/referrals?direction=incoming", headers=tokens.bearer(CPIA, sub="op-bruno"))
        assert [i["id"] for i in listed.json()["items"]] == [referral_id]
        mine = await cpia.get(
            f"/referrals/{referral_id}?purpose=own-request", headers=tokens.bearer(CPIA, "supervisor", sub="sup-carla")
        )
        assert mine.status_code == 200

        log = await cpia.get("/access-log", headers=dpo)
        assert log.status_code == 200, log.text
        items = log.json()["items"]
        got = [(i["staff"], i["referral_id"], i["purpose"], i["channel"]) for i in items]
        assert got[:3] == [
            ("sup-carla", referral_id, "own-request", "api"),
            ("op-bruno", referral_id, "care", "api"),
            ("op-anna", referral_id, "audit", "api"),
        ]
        assert [i["position"] for i in items] == list(range(len(items), 0, -1))

        by_staff = await cpia.get("/access-log?staff=op-anna", headers=tokens.bearer(CPIA, "supervisor"))
        assert [(i["staff"], i["purpose"]) for i in by_staff.json()["items"]] == [("op-anna", "audit")]
        by_referral = await cpia.get(f"/access-log?referral_id={referral_id}", headers=dpo)
        assert len(by_referral.json()["items"]) == len(items)
        none = await cpia.get("/access-log?referral_id=not-a-referral-here", headers=dpo)
        assert none.json()["items"] == []

        paged = await cpia.get("/access-log?limit=2", headers=dpo)
        assert [i["position"] for i in paged.json()["items"]] == [len(items), len(items) - 1]
        rest = await cpia.get(f"/access-log?limit=2&cursor={paged.json()['next_cursor']}", headers=dpo)
        assert rest.json()["items"][0]["position"] == len(items) - 2

        # The sender's node logs only its own reads.
        casa_log = await casa.get("/access-log", headers=tokens.bearer(CASA, "dpo"))
        assert casa_log.json()["items"] == []


async def test_a_person_search_and_an_assignment_answered_are_reads_of_what_they_show(
    node_factory, tokens, staff_dir, database_url
):
    async with (
        node_factory(CASA, staff_dir=staff_dir) as casa,
        node_factory(CPIA, staff_dir=staff_dir, database_url=database_url) as cpia,
    ):
        referral_id = await _sent(casa, cpia, tokens)
        dpo = tokens.bearer(CPIA, "dpo")
        before = len((await cpia.get("/access-log", headers=dpo)).json()["items"])

        found = await cpia.get("/referrals?person=amina&purpose=audit", headers=tokens.bearer(CPIA, sub="op-anna"))
        assert [i["id"] for i in found.json()["items"]] == [referral_id]
        nobody = await cpia.get("/referrals?person=nobody", headers=tokens.bearer(CPIA, sub="op-bruno"))
        assert nobody.status_code == 200 and nobody.json()["items"] == []
        bad = await cpia.get("/referrals?purpose=curiosity", headers=tokens.bearer(CPIA, sub="op-bruno"))
        assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
        supervisor = tokens.bearer(CPIA, "supervisor", sub="supervisor-cpia2")
        assigned = await cpia.post(
            f"/referrals/{referral_id}/assign", json={"assignee": "ahmed.saleh"}, headers=supervisor
        )
        assert assigned.status_code == 200 and assigned.json()["person"]["given_name"] == "Amina"

        items = (await cpia.get("/access-log", headers=dpo)).json()["items"]
        got = [(i["staff"], i["referral_id"], i["purpose"], i["channel"]) for i in items[: len(items) - before]]
        assert got == [
            ("supervisor-cpia2", referral_id, "care", "api"),
            ("op-anna", referral_id, "audit", "api"),
        ], "a search that shows nobody, or is refused, reads nothing"
        assert (await cpia.get("/access-log/verify", headers=dpo)).json()["ok"] is True


async def test_only_supervisors_and_the_data_protection_officer_read_the_log(node_factory, tokens):
    async with node_factory(CPIA) as cpia:
        for roles in (("operator",), ("system",), ("auditor",), ("admin",)):
            refused = await cpia.get("/access-log", headers=tokens.bearer(CPIA, *roles))
            assert refused.status_code == 403, roles
            assert refused.headers["content-type"].startswith(PROBLEM)
            assert refused.json()["type"].endswith("/problems/forbidden")
            verify = await cpia.get("/access-log/verify", headers=tokens.bearer(CPIA, *roles))
            assert verify.status_code == 403
        other = await cpia.get("/access-log", headers=tokens.bearer(CASA, "dpo"))
        assert other.status_code == 403 and other.json()["type"].endswith("/problems/other-agency")
        anonymous = await cpia.get("/access-log")
        assert anonymous.status_code == 401


async def test_bad_input_is_refused_and_records_nothing(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        referral_id = await _sent(casa, cpia, tokens)
        dpo = tokens.bearer(CPIA, "dpo")
        before = len((await cpia.get("/access-log", headers=dpo)).json()["items"])
        bad = await cpia.get(f"/referrals/{referral_id}?purpose=curiosity", headers=tokens.bearer(CPIA))
        assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM)
        missing = await cpia.get("/referrals/no-such-referral", headers=tokens.bearer(CPIA))
        assert missing.status_code == 404
        assert len((await cpia.get("/access-log", headers=dpo)).json()["items"]) == before
        for query in ("cursor=bm90LWEtY3Vyc29y", "cursor=OTk5OTk5OTk5OTk5OTk5OTk5", "limit=0", f"staff={'x' * 300}"):
            r = await cpia.get(f"/access-log?{query}", headers=dpo)
            assert r.status_code in (400, 422), query
            assert r.headers["content-type"].startswith(PROBLEM)


async def test_reads_at_once_chain_one_after_the_other_and_an_edited_row_breaks_the_chain(
    node_factory, tokens, database_url
):
    async with node_factory(CASA) as casa, node_factory(CPIA, database_url=database_url) as cpia:
        referral_id = await _sent(casa, cpia, tokens)
        reads = [cpia.get(f"/referrals/{referral_id}", headers=tokens.bearer(CPIA, sub=f"op-{i}")) for i in range(12)]
        assert {r.status_code for r in await asyncio.gather(*reads)} == {200}
        dpo = tokens.bearer(CPIA, "dpo")
        good = (await cpia.get("/access-log/verify", headers=dpo)).json()
        assert good["ok"] is True and good["broken_at"] is None
        assert good["head"]["entries"] == 13  # the warm-up read included
        staff = {i["staff"] for i in (await cpia.get("/access-log", headers=dpo)).json()["items"]}
        assert staff == {f"op-{i}" for i in range(12)} | {"op-warmup"}

        await _tamper(database_url, "UPDATE access_log SET staff = 'op-nobody' WHERE position = 3")
        broken = (await cpia.get("/access-log/verify", headers=dpo)).json()
        assert broken["ok"] is False
        assert broken["broken_at"] == 3
        assert "changed" in broken["reason"]


async def test_the_head_is_anchored_in_the_audit_trail_with_no_personal_value(
    node_factory, tokens, audit_factory, database_url
):
    async with (
        audit_factory() as audit,
        node_factory(CASA) as casa,
        node_factory(CPIA, database_url=database_url, access_log_anchor_seconds=0.3) as cpia,
    ):
        referral_id = await _sent(casa, cpia, tokens)
        await cpia.get(f"/referrals/{referral_id}", headers=tokens.bearer(CPIA, sub="op-anna"))
        dpo = tokens.bearer(CPIA, "dpo")
        head = (await cpia.get("/access-log/verify", headers=dpo)).json()["head"]
        auditor = tokens.bearer("steering-committee", "network-auditor")

        async def anchored():
            r = await audit.get("/trail/export?format=jsonl&event=access-log-anchored", headers=auditor)
            entries = [json.loads(line) for line in r.text.splitlines()[1:]] if r.status_code == 200 else []
            return entries if any(e["event"]["data"]["entries"] >= 2 for e in entries) else None

        entries = await eventually(anchored, timeout=20)
        entry = entries[-1]
        data = entry["event"]["data"]
        assert entry["nats_subject"] == f"notice.v1.{CPIA}.access-log-anchored"
        assert entry["event"]["source"] == f"/agencies/{CPIA}"
        assert set(data) == {"event", "agency", "entries", "head_sha256"}
        assert (data["entries"], data["head_sha256"]) == (head["entries"], head["head_sha256"])
        items = (await audit.get("/trail?event=access-log-anchored&order=oldest", headers=auditor)).json()["items"]
        assert items[-1]["from_agency"] == CPIA and items[-1]["referral_id"] == ""
        raw = json.dumps(entries) + json.dumps(items)
        for personal in ("Amina", "K.", "Italian course", "op-anna", "op-warmup", referral_id):
            assert personal not in raw

        check = (await cpia.get("/access-log/verify", headers=dpo)).json()
        assert check["ok"] is True
        assert check["anchored"] == {"entries": data["entries"], "head_sha256": data["head_sha256"]}
        # The agency's own auditor finds its anchors; the trail is intact with them in it.
        own = await audit.get("/trail?event=access-log-anchored", headers=tokens.bearer(CPIA, "auditor"))
        assert len(own.json()["items"]) == len(items)
        verified = await audit.get("/verify", headers=auditor)
        assert verified.json()["ok"] is True, verified.text

        # The log cut short behind the node's back no longer reaches what it anchored.
        await _tamper(database_url, f"DELETE FROM access_log WHERE position = {data['entries']}")
        cut = (await cpia.get("/access-log/verify", headers=dpo)).json()
        assert cut["ok"] is False and cut["broken_at"] == data["entries"]
        assert "anchored" in cut["reason"]
