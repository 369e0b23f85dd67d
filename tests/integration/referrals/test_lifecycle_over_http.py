"""The closed loop through both nodes' HTTP APIs, on a real NATS server."""

from __future__ import annotations

from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"


async def status_at(client, tokens, agency, referral_id):
    r = await client.get(f"/referrals/{referral_id}", headers=tokens.bearer(agency))
    return r.json()


async def wait_status(client, tokens, agency, referral_id, status):
    async def check():
        body = await status_at(client, tokens, agency, referral_id)
        return body if body["status"] == status else None

    return await eventually(check)


async def test_the_loop_closes_on_both_sides(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await wait_status(cpia, tokens, CPIA, rid, "received")
        for action, body in [("accept", None), ("start", None), ("complete", {"outcome": "got-help"})]:
            r = await cpia.post(f"/referrals/{rid}/{action}", json=body, headers=tokens.bearer(CPIA))
            assert r.status_code == 200, r.text
        done = await wait_status(casa, tokens, CASA, rid, "completed")
        assert [h["event"] for h in done["history"]] == [
            "requested",
            "received",
            "accepted",
            "in-progress",
            "completed",
        ]
        assert done["history"][-1]["details"] == {"outcome": "got-help"}
        assert done["allowed_actions"] == ["withdraw-consent"]


async def test_a_new_referral_is_answered_as_a_read_of_it_gives_it(node_factory, tokens, database_url):
    """The POST answers the referral its transaction stored, without reading it back: the
    answer is what a read of it gives, field for field (the receiver is stopped so that the
    referral stays as sent)."""
    async with node_factory(CPIA):
        pass  # its keys are published: the sender can seal to it
    body = referral_body(
        needs="a course in the evening",
        legal_basis={
            "basis": "consent",
            "captured_by": "op-1",
            "captured_at": "2026-11-01T10:00:00Z",
            "scope": "language course enrolment",
            "document_ref": "DOC-7",
        },
        person={"given_name": "Amina", "family_name": "K.", "birth_date": "1990-02-03", "languages": ["ar"]},
    )
    async with node_factory(CASA, database_url) as casa:
        created = await casa.post("/referrals", json=body, headers=tokens.bearer(CASA))
        assert created.status_code == 201, created.text
        read = await casa.get(f"/referrals/{created.json()['id']}", headers=tokens.bearer(CASA))
        answered = created.json()
        assert answered["status"] == "requested" and [h["event"] for h in answered["history"]] == ["requested"]
        assert answered["assignments"] == [] and answered["needs"] == "a course in the evening"
        assert answered == {**read.json(), "waiting": answered["waiting"]}
        again = (await casa.post("/referrals", json=body, headers=tokens.bearer(CASA))).json()
        assert again["warnings"] == ["this person already has an open referral to Main service of cpia2"]


async def test_a_forbidden_transition_names_the_status_and_the_allowed_actions(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await wait_status(cpia, tokens, CPIA, rid, "received")
        r = await cpia.post(f"/referrals/{rid}/complete", json={"outcome": "got-help"}, headers=tokens.bearer(CPIA))
        assert r.status_code == 409
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["type"] == "/problems/transition-not-allowed"
        assert r.json()["current_status"] == "received"
        assert r.json()["allowed_actions"] == ["accept", "reject", "request-info"]
        sender_accepts = await casa.post(f"/referrals/{rid}/accept", headers=tokens.bearer(CASA))
        assert sender_accepts.status_code == 409 and "only the receiver" in sender_accepts.json()["detail"]
        assert (await status_at(cpia, tokens, CPIA, rid))["status"] == "received"


async def test_the_same_idempotency_key_and_body_create_one_referral(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA):
        headers = {**tokens.bearer(CASA), "Idempotency-Key": "k-1"}
        first = await casa.post("/referrals", json=referral_body(), headers=headers)
        again = await casa.post("/referrals", json=referral_body(), headers=headers)
        other = await casa.post("/referrals", json=referral_body(reason="Another"), headers=headers)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["id"] == again.json()["id"]
        assert other.status_code == 409 and other.json()["type"] == "/problems/idempotency-key-reused"
        listed = await casa.get("/referrals", headers=tokens.bearer(CASA))
        assert len(listed.json()["items"]) == 1


async def test_a_refused_request_answers_a_problem_naming_the_field_and_changes_nothing(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA):
        unknown = await casa.post("/referrals", json=referral_body(to_agency="atlantis"), headers=tokens.bearer(CASA))
        assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
        assert (unknown.json()["type"], unknown.json()["field"]) == ("/problems/unknown-agency", "to_agency")
        malformed = await casa.post("/referrals", json=referral_body(priority="whenever"), headers=tokens.bearer(CASA))
        assert malformed.status_code == 422 and malformed.json()["type"] == "/problems/validation"
        assert (await casa.get("/referrals", headers=tokens.bearer(CASA))).json()["items"] == []


async def test_agencies_see_only_their_own_referrals_and_roles_limit_actions(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA, "system"))
        assert created.status_code == 201, "an agency's own system may create referrals"
        rid = created.json()["id"]
        assert (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA, "system"))).status_code == 200
        other = await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))
        assert other.status_code == 404 and other.json()["type"] == "/problems/referral-not-found"
        assert (await casa.get(f"/referrals/{rid}")).status_code == 401
        auditor = await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA, "auditor"))
        assert auditor.status_code == 403
        await wait_status(cpia, tokens, CPIA, rid, "received")
        system_acts = await cpia.post(f"/referrals/{rid}/accept", headers=tokens.bearer(CPIA, "system"))
        assert system_acts.status_code == 403
        assert (await status_at(cpia, tokens, CPIA, rid))["status"] == "received"


async def test_withdrawn_consent_erases_the_personal_part_at_the_receiver_then_at_the_sender(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await wait_status(cpia, tokens, CPIA, rid, "received")
        r = await casa.post(f"/referrals/{rid}/withdraw-consent", headers=tokens.bearer(CASA))
        assert r.status_code == 200, r.text

        async def erased():
            body = await status_at(cpia, tokens, CPIA, rid)
            return body if body["erased"] else None

        at_receiver = await eventually(erased)
        assert at_receiver["person"] is None and at_receiver["reason"] is None
        assert at_receiver["erased"]["reason"] == "consent-withdrawn"
        assert at_receiver["status"] == "received", "the public part stays"

        async def confirmed():
            body = await status_at(casa, tokens, CASA, rid)
            return "personal-data-erased" in [h["event"] for h in body["history"]] and body

        at_sender = await eventually(confirmed)
        assert at_sender["consent_withdrawn_at"] is not None
        # Once the receiver confirmed, the sender keeps no copy either.
        assert at_sender["person"] is None and at_sender["reason"] is None and at_sender["needs"] is None
        assert at_sender["erased"]["reason"] == "consent-withdrawn"


async def test_information_requested_and_provided_travels_sealed_and_is_read_by_the_other_side(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await wait_status(cpia, tokens, CPIA, rid, "received")
        asked = await cpia.post(
            f"/referrals/{rid}/request-info", json={"question": "Which evening is free?"}, headers=tokens.bearer(CPIA)
        )
        assert asked.status_code == 200, asked.text

        async def question_arrived():
            body = await status_at(casa, tokens, CASA, rid)
            return [h["note"] for h in body["history"] if h["event"] == "info-requested"]

        assert await eventually(question_arrived) == ["Which evening is free?"]


async def test_a_rejected_referral_is_sent_again_to_the_suggested_agency(node_factory, tokens):
    async with node_factory(CASA) as casa, node_factory(CPIA) as cpia, node_factory("csl-lavoro") as csl:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await wait_status(cpia, tokens, CPIA, rid, "received")
        r = await cpia.post(
            f"/referrals/{rid}/reject",
            json={"reason_code": "out-of-area", "suggested_agency": "csl-lavoro"},
            headers=tokens.bearer(CPIA),
        )
        assert r.status_code == 200, r.text
        await wait_status(casa, tokens, CASA, rid, "rejected")
        again = await casa.post(
            f"/referrals/{rid}/redirect", json={"service_id": "main-service"}, headers=tokens.bearer(CASA)
        )
        assert again.status_code == 201, again.text
        second = again.json()
        assert second["receiver_agency"] == "csl-lavoro" and second["previous_referral_id"] == rid
        arrived = await wait_status(csl, tokens, "csl-lavoro", second["id"], "received")
        assert arrived["person"]["given_name"] == "Amina"
