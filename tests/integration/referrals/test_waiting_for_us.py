"""What waits for each agency, over real NATS between two nodes, on SQLite and PostgreSQL:
a question opens at both nodes and its answer clears it (an answer when nothing was asked
is refused and changes nothing); ``waiting_for_us`` says why each referral waits, for the
sender as for the receiver; a decision overdue at the receiver waits for the sender to chase;
a rejection waits until it is sent again or closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.referrals.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA, CSL = "pioltello-casa", "cpia2", "csl-lavoro"


async def referral_at(client, tokens, agency, referral_id):
    return (await client.get(f"/referrals/{referral_id}", headers=tokens.bearer(agency))).json()


async def until(client, tokens, agency, referral_id, check):
    async def found():
        body = await referral_at(client, tokens, agency, referral_id)
        return body if check(body) else None

    return await eventually(found)


async def waiting_for(client, tokens, agency) -> dict[str, list[str]]:
    """Referral id -> why it waits for ``agency``, from ``GET /referrals?waiting_for_us=true``."""
    answer = await client.get("/referrals", params={"waiting_for_us": "true"}, headers=tokens.bearer(agency))
    assert answer.status_code == 200, answer.text
    return {item["id"]: item["waiting"]["reasons"] for item in answer.json()["items"]}


async def act(client, tokens, agency, referral_id, action, body=None):
    answer = await client.post(f"/referrals/{referral_id}/{action}", json=body, headers=tokens.bearer(agency))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def sent_and_received(casa, tokens) -> str:
    rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
    await until(casa, tokens, CASA, rid, lambda r: r["status"] == "received")
    return rid


@pytest.mark.parametrize("stored", ["at the sender", "at the receiver"])
async def test_a_question_opens_at_both_nodes_and_its_answer_clears_it(node_factory, tokens, database_url, stored):
    on_sender = {"database_url": database_url} if stored == "at the sender" else {}
    on_receiver = {"database_url": database_url} if stored == "at the receiver" else {}
    async with node_factory(CASA, **on_sender) as casa, node_factory(CPIA, **on_receiver) as cpia:
        rid = await sent_and_received(casa, tokens)
        before = await referral_at(casa, tokens, CASA, rid)
        unasked = await casa.post(f"/referrals/{rid}/provide-info", json={"answer": "?"}, headers=tokens.bearer(CASA))
        assert unasked.status_code == 409 and unasked.headers["content-type"] == "application/problem+json"
        assert unasked.json()["type"] == "/problems/transition-not-allowed"
        assert "no question" in unasked.json()["detail"] and "provide-info" not in unasked.json()["allowed_actions"]
        assert await referral_at(casa, tokens, CASA, rid) == before, "nothing changed"
        assert before["business_status"] is None and "provide-info" not in before["allowed_actions"]

        asked = await act(cpia, tokens, CPIA, rid, "request-info", {"question": "Which evening is free?"})
        asked_at = asked["open_questions"][CASA]
        assert asked["business_status"] == "info-requested" and "provide-info" not in asked["allowed_actions"]
        at_sender = await until(casa, tokens, CASA, rid, lambda r: r["business_status"] == "info-requested")
        assert at_sender["open_questions"] == {CASA: asked_at}, "both nodes agree who owes an answer since when"
        assert "provide-info" in at_sender["allowed_actions"]
        assert (await waiting_for(casa, tokens, CASA))[rid] == ["answer"]
        assert (await referral_at(casa, tokens, CASA, rid))["waiting"]["reasons"] == ["answer"], "one says it too"
        assert (await waiting_for(cpia, tokens, CPIA))[rid] == ["decide"], "asking does not make it wait for the asker"

        answered = await act(casa, tokens, CASA, rid, "provide-info", {"answer": "Tuesdays"})
        assert (answered["business_status"], answered["open_questions"]) == (None, {})
        at_receiver = await until(cpia, tokens, CPIA, rid, lambda r: r["business_status"] is None)
        assert at_receiver["open_questions"] == {} and at_receiver["history"][-1]["note"] == "Tuesdays"
        assert rid not in await waiting_for(casa, tokens, CASA)


async def test_waiting_for_us_says_why_each_referral_waits_for_each_side(node_factory, tokens, database_url):
    async with (
        node_factory(CASA, database_url=database_url) as casa,
        node_factory(CPIA) as cpia,
        node_factory(CSL) as csl,
    ):
        rejected, asked, accepted = [await sent_and_received(casa, tokens) for _ in range(3)]
        await act(cpia, tokens, CPIA, rejected, "reject", {"reason_code": "out-of-area", "suggested_agency": CSL})
        await act(cpia, tokens, CPIA, asked, "request-info", {"question": "Is she free on Tuesdays?"})
        await act(cpia, tokens, CPIA, accepted, "accept")
        await until(casa, tokens, CASA, accepted, lambda r: r["status"] == "accepted")
        await until(casa, tokens, CASA, asked, lambda r: r["business_status"] == "info-requested")
        await until(casa, tokens, CASA, rejected, lambda r: r["status"] == "rejected")

        assert await waiting_for(casa, tokens, CASA) == {rejected: ["redirect"], asked: ["answer"]}
        assert await waiting_for(cpia, tokens, CPIA) == {asked: ["decide"], accepted: ["carry-out"]}

        again = await casa.post(
            f"/referrals/{rejected}/redirect", json={"service_id": "main-service"}, headers=tokens.bearer(CASA)
        )
        assert again.status_code == 201, again.text
        assert await waiting_for(casa, tokens, CASA) == {asked: ["answer"]}, "a rejection sent again waits no more"
        second = again.json()["id"]
        await until(csl, tokens, CSL, second, lambda r: r["status"] == "received")
        assert await waiting_for(csl, tokens, CSL) == {second: ["decide"]}


async def test_a_decision_overdue_at_the_receiver_waits_for_the_sender_to_chase(node_factory, tokens, database_url):
    async with node_factory(CASA, database_url=database_url) as casa, node_factory(CPIA) as cpia:
        rid = await sent_and_received(casa, tokens)
        requested_at = datetime.fromisoformat((await referral_at(casa, tokens, CASA, rid))["history"][0]["at"])
        decide_within = timedelta(hours=120)  # the routine target of ``agency_file``'s service
        sender, receiver = node_factory.apps[CASA].state.node, node_factory.apps[CPIA].state.node

        sender.clock = receiver.clock = lambda: requested_at + decide_within - timedelta(minutes=1)
        assert rid not in await waiting_for(casa, tokens, CASA), "not overdue yet: nothing to chase"

        sender.clock = receiver.clock = lambda: requested_at + decide_within + timedelta(minutes=1)
        page = await casa.get("/referrals", params={"waiting_for_us": "true"}, headers=tokens.bearer(CASA))
        [item] = page.json()["items"]
        assert (item["id"], item["waiting"]["reasons"], item["waiting"]["due_state"]) == (rid, ["chase"], "overdue")
        assert datetime.fromisoformat(item["waiting"]["due"]) == (requested_at + decide_within).astimezone(UTC)
        assert await waiting_for(cpia, tokens, CPIA) == {rid: ["decide"]}, "what the receiver already had"

        await act(cpia, tokens, CPIA, rid, "accept")
        await until(casa, tokens, CASA, rid, lambda r: r["status"] == "accepted")
        assert rid not in await waiting_for(casa, tokens, CASA), "decided: nothing to chase"


async def test_a_rejection_closed_without_sending_it_again_waits_no_more(node_factory, tokens, database_url):
    async with node_factory(CASA, database_url=database_url) as casa, node_factory(CPIA) as cpia:
        rid = await sent_and_received(casa, tokens)
        before = await referral_at(casa, tokens, CASA, rid)
        early = await casa.post(f"/referrals/{rid}/close", headers=tokens.bearer(CASA))
        assert early.status_code == 422 and early.headers["content-type"] == "application/problem+json"
        assert early.json()["type"] == "/problems/not-rejected"
        assert await referral_at(casa, tokens, CASA, rid) == before, "nothing changed"
        at_receiver = await cpia.post(f"/referrals/{rid}/close", headers=tokens.bearer(CPIA))
        assert at_receiver.status_code == 404 and at_receiver.json()["type"] == "/problems/referral-not-found"

        await act(cpia, tokens, CPIA, rid, "reject", {"reason_code": "no-capacity"})
        await until(casa, tokens, CASA, rid, lambda r: r["status"] == "rejected")
        assert (await waiting_for(casa, tokens, CASA))[rid] == ["redirect"]
        closed = await act(casa, tokens, CASA, rid, "close")
        assert closed["closed_at"] is not None and closed["status"] == "rejected"
        assert rid not in await waiting_for(casa, tokens, CASA)
        assert (await act(casa, tokens, CASA, rid, "close"))["closed_at"] == closed["closed_at"], "once"
        at_receiver = await referral_at(cpia, tokens, CPIA, rid)
        assert [h["event"] for h in at_receiver["history"]] == ["requested", "received", "rejected"]
        assert at_receiver["closed_at"] is None, "closing is the sender's own: nothing travels"
