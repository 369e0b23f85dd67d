"""The notices about a referral reach the member of staff their agency assigned it to
first: a real node tells its notifications (a caseload notice on CASELOAD), on real NATS,
on SQLite and PostgreSQL. Counted per person: the assignee is told, the rest of the team is
not; a reassignment moves the next notice; the other agency's people are not narrowed."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import referral_body
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
TEAM = ("operator-cpia2", "op-en", "op-second", "supervisor-cpia2")


async def told(notifications: Any, tokens: Any, agency: str, sub: str) -> list[tuple[str, str]]:
    answer = await notifications.get("/inbox", headers=tokens.bearer(agency, "operator", sub=sub))
    assert answer.status_code == 200, answer.text
    return sorted((item["event"], item["referral_id"]) for item in answer.json()["items"])


async def kept(notifications: Any, referral_id: str) -> dict[str, str]:
    async with notifications.app.state.notifier.uow.transaction() as tx:
        found: dict[str, str] = await tx.assignments.of(referral_id)
        return found


async def test_a_message_to_cpia2_reaches_the_worker_it_assigned_the_referral_to_and_follows_a_reassignment(
    node_factory, notifications_factory, tokens, staff_dir, database_url
):
    supervisor = tokens.bearer(CPIA, "supervisor", sub="supervisor-cpia2")
    async with (
        node_factory(CASA, staff_dir=staff_dir) as casa,
        node_factory(CPIA, staff_dir=staff_dir) as cpia,
        notifications_factory(database_url) as notifications,
    ):
        created = await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))
        rid = created.json()["id"]
        first = [("requested", rid)]
        await eventually(lambda: _all(told(notifications, tokens, CPIA, sub) for sub in ("operator-cpia2", "op-en")))

        # op-second handles another service: only an assignment brings the referral to her
        answer = await cpia.post(f"/referrals/{rid}/assign", json={"assignee": "op-second"}, headers=supervisor)
        assert answer.status_code == 200, answer.text
        assert await eventually(lambda: _is(kept(notifications, rid), {CPIA: "op-second"}))
        await casa.post(f"/referrals/{rid}/messages", json={"text": "ISEE in arrivo"}, headers=tokens.bearer(CASA))
        second = sorted([*first, ("message-sent", rid)])
        await eventually(lambda: _is(told(notifications, tokens, CPIA, "op-second"), [("message-sent", rid)]))
        raw = (await notifications.get("/inbox", headers=tokens.bearer(CPIA, sub="op-second"))).text
        assert "ISEE" not in raw and "Amina" not in raw  # the message's text and the person stay sealed
        # the notice is told in one transaction: what the others have now is all they get
        team = {sub: await told(notifications, tokens, CPIA, sub) for sub in TEAM}
        assert team == {
            "operator-cpia2": first,
            "op-en": first,
            "op-second": [("message-sent", rid)],
            "supervisor-cpia2": [],
        }

        answer = await cpia.post(f"/referrals/{rid}/assign", json={"assignee": "op-en"}, headers=supervisor)
        assert answer.status_code == 200, answer.text
        assert await eventually(lambda: _is(kept(notifications, rid), {CPIA: "op-en"}))
        await casa.post(f"/referrals/{rid}/messages", json={"text": "Inviato"}, headers=tokens.bearer(CASA))
        await eventually(lambda: _is(told(notifications, tokens, CPIA, "op-en"), second))
        team = {sub: await told(notifications, tokens, CPIA, sub) for sub in TEAM}
        assert team == {
            "operator-cpia2": first,
            "op-en": second,
            "op-second": [("message-sent", rid)],
            "supervisor-cpia2": [],
        }

        # cpia2's answer goes to casa's operator who sent it: cpia2's assignment narrows nothing there
        await cpia.post(f"/referrals/{rid}/messages", json={"text": "Ricevuto"}, headers=tokens.bearer(CPIA))
        assert await eventually(
            lambda: _is(
                told(notifications, tokens, CASA, "operator-pioltello-casa"), [("message-sent", rid), ("received", rid)]
            )
        )
        # the sending node never learns who works on it at cpia2
        at_sender = (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()
        assert at_sender["assignee"] is None and at_sender["assignments"] == []


async def _all(checks: Any) -> bool:
    return all([await check for check in checks])


async def _is(check: Any, expected: Any) -> bool:
    return bool(await check == expected)
