"""Household pathways over HTTP, on real NATS, with the lead's node on SQLite and PostgreSQL:
one request refers a family to several services; the lead sees every referral's status; each
receiver sees its own referral, the pathway's id and lead agency, and nothing of the others;
NATS and the audit's trail carry the pathway only as public facts; every refusal changes
nothing."""

from __future__ import annotations

import json
from typing import Any

import nats
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from crocevia_audit.adapters.tables import trail_entries
from crocevia_common.tlog.merkle import leaf_hash
from crocevia_referrals.adapters.tables import messaging, referrals
from tests.integration.audit.conftest import audit_factory, audit_settings
from tests.kit.services import eventually

__all__ = ["audit_factory", "audit_settings"]
CASA, CPIA, CSL = "pioltello-casa", "cpia2", "csl-lavoro"
FAMILY = {"given_name": "Fatou", "family_name": "Diallo", "birth_date": "1988-03-14", "household": "two children"}
PERSONAL_VALUES = ("Fatou", "Diallo", "1988-03-14", "two children", "Evening course", "Job search", "Rent arrears")
CONSENT = {"basis": "consent", "captured_by": "op-1", "captured_at": "2026-11-01T10:00:00Z"}


def pathway_body(*services: dict[str, Any]) -> dict[str, Any]:
    chosen = services or (
        {"to_agency": CPIA, "service_id": "main-service", "reason": "Evening course"},
        {"to_agency": CSL, "service_id": "main-service", "priority": "urgent", "reason": "Job search"},
    )
    return {"services": list(chosen), "needs": "Rent arrears", "legal_basis": CONSENT, "person": FAMILY}


async def counts(app: Any) -> tuple[int, int]:
    """How many referrals a node holds, and how many events it queued."""
    async with app.state.node.uow.db.connect() as session:
        held = (await session.execute(select(func.count()).select_from(referrals))).scalar_one()
        queued = (await session.execute(select(func.count()).select_from(messaging.outbox))).scalar_one()
    return int(held), int(queued)


async def requested_on_nats(nats_url: str) -> list[tuple[str, bytes]]:
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("REFERRALS")
        found = [await js.get_msg("REFERRALS", seq) for seq in range(info.state.first_seq, info.state.last_seq + 1)]
        return [(m.subject, m.data) for m in found if m.subject.endswith(".requested")]
    finally:
        await nc.close()


async def test_a_pathway_reaches_each_receiver_with_its_id_and_lead_agency_only(
    node_factory, tokens, database_url, nats_url, audit_factory
):
    casa_token, cpia_token, csl_token = tokens.bearer(CASA), tokens.bearer(CPIA), tokens.bearer(CSL)
    auditor = tokens.bearer("network", "network-auditor")
    async with (
        audit_factory() as audit,
        node_factory(CASA, database_url=database_url) as casa,
        node_factory(CPIA) as cpia,
        node_factory(CSL) as csl,
    ):
        once = {**casa_token, "Idempotency-Key": "pathway-1"}
        created = await casa.post("/pathways", json=pathway_body(), headers=once)
        assert created.status_code == 201, created.text
        replayed = await casa.post("/pathways", json=pathway_body(), headers=once)
        assert replayed.status_code == 200 and replayed.json()["id"] == created.json()["id"]
        pathway = created.json()
        pathway_id = pathway["id"]
        assert created.headers["location"] == f"/pathways/{pathway_id}"
        assert (pathway["lead_agency"], pathway["person"]["family_name"]) == (CASA, "Diallo")
        to_cpia, to_csl = pathway["referrals"]
        assert [(r["receiver_agency"], r["priority"]) for r in (to_cpia, to_csl)] == [
            (CPIA, "routine"),
            (CSL, "urgent"),
        ]
        ref = {"id": pathway_id, "lead_agency": CASA}
        assert to_cpia["pathway"] == ref and to_csl["pathway"] == ref

        async def both_received() -> Any:
            seen = (await casa.get(f"/pathways/{pathway_id}", headers=casa_token)).json()
            return [r["status"] for r in seen["referrals"]] == ["received", "received"] and seen

        await eventually(both_received, timeout=30)
        accepted = await csl.post(f"/referrals/{to_csl['id']}/accept", headers=csl_token)
        assert accepted.status_code == 200, accepted.text

        async def accepted_at_lead() -> Any:
            seen = (await casa.get(f"/pathways/{pathway_id}", headers=casa_token)).json()
            return [r["status"] for r in seen["referrals"]] == ["received", "accepted"]

        await eventually(accepted_at_lead, timeout=30)
        listed = (await casa.get("/pathways", headers=casa_token)).json()
        assert [(p["id"], len(p["referrals"])) for p in listed["items"]] == [(pathway_id, 2)]
        audited = await casa.get(f"/pathways/{pathway_id}?purpose=audit", headers=tokens.bearer(CASA, sub="op-dora"))
        assert audited.status_code == 200
        log = (await casa.get("/access-log?staff=op-dora", headers=tokens.bearer(CASA, "supervisor"))).json()
        read = {(i["referral_id"], i["purpose"], i["channel"]) for i in log["items"]}
        assert read == {(to_cpia["id"], "audit", "api"), (to_csl["id"], "audit", "api")}  # each read is recorded

        at_cpia = (await cpia.get(f"/referrals/{to_cpia['id']}", headers=cpia_token)).json()
        assert at_cpia["pathway"] == ref and at_cpia["reason"] == "Evening course"
        assert at_cpia["person"]["family_name"] == "Diallo"
        assert CSL not in json.dumps(at_cpia) and "Job search" not in json.dumps(at_cpia)
        assert (await cpia.get(f"/referrals/{to_csl['id']}", headers=cpia_token)).status_code == 404
        at_receiver = await cpia.get(f"/pathways/{pathway_id}", headers=cpia_token)
        assert at_receiver.status_code == 404
        assert at_receiver.headers["content-type"] == "application/problem+json"
        assert (await cpia.get("/pathways", headers=cpia_token)).json()["items"] == []

        async def requested_in_trail() -> Any:
            r = await audit.get("/trail", params={"event": "requested"}, headers=auditor)
            assert r.status_code == 200, r.text
            return len(r.json()["items"]) == 2 and r.json()["items"]

        trail = await eventually(requested_in_trail, timeout=30)
        assert all(value not in json.dumps(trail) for value in PERSONAL_VALUES)

        # The same person again to a service where their referral is open: sent, with a warning.
        again = {"to_agency": CPIA, "service_id": "main-service", "legal_basis": CONSENT, "person": FAMILY}
        warned = await casa.post("/referrals", json=again, headers=casa_token)
        assert warned.status_code == 201 and any("open referral" in w for w in warned.json()["warnings"])
        # Names compared without case, accents or repeated spaces; another person is not warned of,
        # also when their name holds what a LIKE pattern would read as a wildcard.
        written = {**FAMILY, "given_name": "FATOÙ ", "family_name": " diallo"}
        warned = await casa.post("/referrals", json={**again, "person": written}, headers=casa_token)
        assert any("open referral" in w for w in warned.json()["warnings"])
        for other in (
            {**FAMILY, "given_name": "F%"},
            {**FAMILY, "given_name": "Fato_"},
            {**FAMILY, "birth_date": None},
        ):
            quiet = await casa.post("/referrals", json={**again, "person": other}, headers=casa_token)
            assert quiet.status_code == 201 and not any("open referral" in w for w in quiet.json()["warnings"]), other

    published = await requested_on_nats(nats_url)
    assert len(published) == 7
    for subject, payload in published[:2]:
        data = json.loads(payload)["data"]
        assert data["pathway"] == ref, subject
        assert all(value.encode() not in payload for value in PERSONAL_VALUES)
    assert all("pathway" not in json.loads(p)["data"] for _, p in published[2:])  # a referral on its own names none


async def test_the_audit_keeps_the_pathway_as_a_public_fact_of_the_envelope(
    node_factory, tokens, audit_factory, tmp_path
):
    auditor = tokens.bearer("network", "network-auditor")
    async with audit_factory() as audit, node_factory(CASA) as casa, node_factory(CPIA):
        one = pathway_body({"to_agency": CPIA, "service_id": "main-service", "reason": "Evening course"})
        created = await casa.post("/pathways", json=one, headers=tokens.bearer(CASA))
        assert created.status_code == 201, created.text
        rid = created.json()["referrals"][0]["id"]

        async def both_events() -> Any:
            r = await audit.get("/trail", params={"referral_id": rid, "order": "oldest"}, headers=auditor)
            return len(r.json()["items"]) == 2 and r.json()["items"]

        assert [i["event"] for i in await eventually(both_events)] == ["requested", "received"]

    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}")
    try:
        async with engine.connect() as conn:
            rows = list((await conn.execute(select(trail_entries).order_by(trail_entries.c.position))).mappings())
    finally:
        await engine.dispose()
    requested = json.loads(rows[0]["entry"])["event"]["data"]
    assert requested["pathway"] == {"id": created.json()["id"], "lead_agency": CASA}
    assert all(row["leaf_hash"] == leaf_hash(row["entry"]) for row in rows)
    assert all(value not in repr(rows) for value in PERSONAL_VALUES)


REFUSALS = [
    ("same service twice", "same-service-twice", 422, pathway_body(
        {"to_agency": CPIA, "service_id": "main-service"}, {"to_agency": CPIA, "service_id": "main-service"})),
    ("a service that takes no referrals", "service-closed", 422, pathway_body(
        {"to_agency": CPIA, "service_id": "main-service"}, {"to_agency": CSL, "service_id": "closed-service"})),
    ("an unknown service", "unknown-service", 422, pathway_body(
        {"to_agency": CPIA, "service_id": "main-service"}, {"to_agency": CSL, "service_id": "no-such-service"})),
    ("an unknown agency", "unknown-agency", 422, pathway_body(
        {"to_agency": CPIA, "service_id": "main-service"}, {"to_agency": "nowhere", "service_id": "main-service"})),
    ("its own agency", "unknown-agency", 422, pathway_body(
        {"to_agency": CPIA, "service_id": "main-service"}, {"to_agency": CASA, "service_id": "main-service"})),
    ("no service", "validation", 422, {**pathway_body(), "services": []}),
    ("no person", "validation", 422, {k: v for k, v in pathway_body().items() if k != "person"}),
    ("an expired consent", "legal-basis", 422, {**pathway_body(), "legal_basis": {
        **CONSENT, "expires_at": "2026-11-02T00:00:00Z"}}),
]  # fmt: skip
SERVICES = [
    {"id": "main-service", "name": "Job search", "domain": "work"},
    {"id": "closed-service", "name": "Closed", "domain": "work", "accepts_referrals": False},
]


@pytest.mark.parametrize(("case", "slug", "status", "body"), REFUSALS, ids=[r[0] for r in REFUSALS])
async def test_a_refused_pathway_answers_a_problem_and_sends_none_of_its_referrals(
    node_factory, tokens, case, slug, status, body
):
    async with node_factory(CASA) as casa, node_factory(CPIA), node_factory(CSL, services=SERVICES):
        app = node_factory.apps[CASA]
        before = await counts(app)
        refused = await casa.post("/pathways", json=body, headers=tokens.bearer(CASA))
        assert refused.status_code == status, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith(f"/problems/{slug}")
        assert await counts(app) == before == (0, 0)
        assert (await casa.get("/pathways", headers=tokens.bearer(CASA))).json()["items"] == []


async def test_with_the_persons_agreement_each_receiver_is_told_the_other_services_sealed(
    node_factory, tokens, nats_url
):
    casa_token, cpia_token = tokens.bearer(CASA), tokens.bearer(CPIA)
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia, node_factory(CSL) as csl:
        shared = await casa.post("/pathways", json={**pathway_body(), "share_within_pathway": True}, headers=casa_token)
        assert shared.status_code == 201, shared.text
        to_cpia, to_csl = shared.json()["referrals"]
        kept = (await casa.post("/pathways", json=pathway_body(), headers=casa_token)).json()["referrals"][0]

        async def at(node, token, rid) -> Any:
            r = await node.get(f"/referrals/{rid}", headers=token)
            return r.status_code == 200 and r.json()

        told = await eventually(lambda: at(cpia, cpia_token, to_cpia["id"]), timeout=30)
        assert told["pathway_services"] == [{"agency": CSL, "service_id": "main-service"}]
        other = await eventually(lambda: at(csl, tokens.bearer(CSL), to_csl["id"]), timeout=30)
        assert other["pathway_services"] == [{"agency": CPIA, "service_id": "main-service"}]
        untold = await eventually(lambda: at(cpia, cpia_token, kept["id"]), timeout=30)
        assert untold["pathway_services"] == [] and CSL not in json.dumps(untold)

    published = await requested_on_nats(nats_url)
    assert len(published) == 4
    for _subject, payload in published:
        other_agency = CSL if json.loads(payload)["data"]["receiver_agency"] == CPIA else CPIA
        assert other_agency.encode() not in payload, "the other services travel sealed only"
