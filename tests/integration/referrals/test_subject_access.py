"""A person's access request at a node: every referral about them, whole, and every read of
their details; the export is a read too (purpose own-request); only the agency's
supervisors and data protection officer may make it."""

from __future__ import annotations

from crocevia_common.web.session_cookie import SESSION_COOKIE
from tests.integration.referrals.conftest import referral_body
from tests.kit.hostile import assert_problem
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
LUCIA = {"given_name": "Lucia", "family_name": "Zanardelli", "phone": "+39 333 0000000"}
OTHER = {"given_name": "Marco", "family_name": "Bianchi"}


async def test_an_export_holds_every_referral_and_read_about_the_person_and_is_itself_recorded(node_factory, tokens):
    dpo, operator = tokens.bearer(CPIA, "dpo"), tokens.bearer(CPIA)
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        sent = []
        for person in (LUCIA, LUCIA, OTHER):
            answer = await casa.post("/referrals", json=referral_body(person=person), headers=tokens.bearer(CASA))
            assert answer.status_code == 201
            sent.append(answer.json()["id"])

        async def all_received() -> bool:
            page = await cpia.get("/referrals?include_closed=true&limit=10", headers=operator)
            return len(page.json()["items"]) == 3

        await eventually(all_received)
        assert (await cpia.get(f"/referrals/{sent[0]}", headers=operator)).status_code == 200  # a read

        export = await cpia.get("/subject-access", params={"person": "zanardelli"}, headers=dpo)
        assert export.status_code == 200, export.text
        found = export.json()
        assert sorted(r["id"] for r in found["referrals"]) == sorted(sent[:2])
        assert {r["person"]["phone"] for r in found["referrals"]} == {LUCIA["phone"]}
        assert all(r["history"] for r in found["referrals"])
        reads = [(e["referral_id"], e["staff"], e["purpose"]) for e in found["access_log"]]
        assert (sent[0], "operator-cpia2", "care") in reads
        assert all(e["referral_id"] in sent[:2] for e in found["access_log"])  # nothing about Marco

        log = (await cpia.get("/access-log", headers=dpo)).json()["items"]
        exported = {(e["referral_id"], e["purpose"], e["channel"]) for e in log if e["staff"] == "dpo-cpia2"}
        assert exported == {(sent[0], "own-request", "export"), (sent[1], "own-request", "export")}

        page = await cpia.get("/subject-access", params={"person": "Lucia Zanardelli", "format": "html"}, headers=dpo)
        assert page.status_code == 200 and "Zanardelli" in page.text and 'id="subject-reads"' in page.text
        cpia.cookies.set(SESSION_COOKIE, tokens.session(CPIA, "dpo"))
        italian = await cpia.get("/ui/subject-access", params={"person": "zanardelli", "lang": "it"})
        assert italian.status_code == 200 and "Richiesta di accesso" in italian.text and LUCIA["phone"] in italian.text


async def test_an_export_is_refused_to_others_and_without_words_and_changes_nothing(node_factory, tokens):
    dpo = tokens.bearer(CPIA, "dpo")
    async with node_factory(CPIA) as cpia:
        before = (await cpia.get("/access-log/verify", headers=dpo)).json()["head"]
        assert_problem(await cpia.get("/subject-access?person=x", headers=tokens.bearer(CPIA)), 403, "forbidden")
        other = tokens.bearer(CASA, "dpo")
        assert_problem(await cpia.get("/subject-access?person=x", headers=other), 403, "other-agency")
        assert_problem(await cpia.get("/subject-access?person=%20%20", headers=dpo), 422, "no-search-words")
        assert_problem(await cpia.get("/subject-access", headers=dpo), 422, "validation")
        assert_problem(await cpia.get(f"/subject-access?person={'x' * 201}", headers=dpo), 422, "validation")
        nobody = await cpia.get("/subject-access?person=nobody", headers=dpo)
        assert nobody.status_code == 200 and nobody.json()["referrals"] == []
        assert (await cpia.get("/access-log/verify", headers=dpo)).json()["head"] == before
