"""A caseload over HTTP, on real NATS and on SQLite and PostgreSQL: assigning a referral to a
worker of one's own agency (kept at that node, in no event), every refusal changing nothing,
and finding one's referrals by assignee, person, status, service and dates, page by page."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from crocevia_common.db import Database
from crocevia_referrals.adapters import tables
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.bootstrap import MIGRATIONS
from tests.integration.referrals.conftest import referral_body
from tests.kit.migrations import upgrade_to
from tests.kit.services import eventually

CASA, CPIA = "pioltello-casa", "cpia2"
FAR_SERVICE = {
    "id": "other-service",
    "name": "Other service",
    "domain": "work",
    "response_targets": {"routine": {"receive_within_hours": 24, "decide_within_hours": 120}},
}
MAIN_SERVICE = {**FAR_SERVICE, "id": "main-service", "name": "Main service", "domain": "education"}


async def outbox_subjects(app: Any) -> list[str]:
    async with app.state.node.uow.db.connect() as session:
        outbox = messaging.outbox
        return list((await session.execute(select(outbox.c.subject).order_by(outbox.c.position))).scalars())


async def received(cpia: Any, tokens: Any, rid: str) -> bool:
    return (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).status_code == 200


async def test_a_received_referral_is_assigned_and_reassigned_at_the_receiving_node_only(
    node_factory, tokens, staff_dir, database_url
):
    supervisor, operator = tokens.bearer(CPIA, "supervisor"), tokens.bearer(CPIA)
    async with (
        node_factory(CASA, staff_dir=staff_dir) as casa,
        node_factory(CPIA, database_url=database_url, staff_dir=staff_dir) as cpia,
    ):
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await eventually(lambda: received(cpia, tokens, rid))
        before = await outbox_subjects(node_factory.apps[CPIA])

        taken = await cpia.post(f"/referrals/{rid}/assign", json={"assignee": "operator-cpia2"}, headers=operator)
        assert taken.status_code == 200 and taken.json()["assignee"] == "operator-cpia2"
        moved = await cpia.post(f"/referrals/{rid}/assign", json={"assignee": "ahmed.saleh"}, headers=supervisor)
        assert moved.status_code == 200
        history = [(a["assignee"], a["previous"], a["by"]) for a in moved.json()["assignments"]]
        assert history == [
            ("operator-cpia2", None, "operator-cpia2"),
            ("ahmed.saleh", "operator-cpia2", "supervisor-cpia2"),
        ]
        # no referral event tells the other agency or the audit: only cpia2's notifications hear
        told = ["caseload.v1.cpia2.referral-assigned"] * 2
        assert await outbox_subjects(node_factory.apps[CPIA]) == [*before, *told]
        at_sender = (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()
        assert at_sender["assignee"] is None and at_sender["assignments"] == []
        mine = await cpia.get("/referrals?assignee=me", headers=tokens.bearer(CPIA, sub="ahmed.saleh"))
        assert [i["id"] for i in mine.json()["items"]] == [rid]
        assert (await cpia.get("/referrals?assignee=me", headers=operator)).json()["items"] == []


async def test_every_refused_assignment_answers_a_problem_and_changes_nothing(node_factory, tokens, staff_dir):
    supervisor = tokens.bearer(CPIA, "supervisor")
    async with node_factory(CASA, staff_dir=staff_dir) as casa, node_factory(CPIA, staff_dir=staff_dir) as cpia:
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await eventually(lambda: received(cpia, tokens, rid))
        first = await cpia.post(f"/referrals/{rid}/assign", json={"assignee": "ahmed.saleh"}, headers=supervisor)
        assert first.status_code == 200
        before = (await cpia.get(f"/referrals/{rid}", headers=supervisor)).json()

        refusals = [
            ({"assignee": "operator-pioltello-casa"}, supervisor, 422, "not-on-staff"),
            ({"assignee": "nobody"}, supervisor, 422, "not-on-staff"),
            ({"assignee": "operator-cpia2"}, tokens.bearer(CPIA), 403, "assignment-not-allowed"),
            ({"assignee": "supervisor-cpia2"}, tokens.bearer(CPIA), 403, "assignment-not-allowed"),
            ({"assignee": "ahmed.saleh"}, tokens.bearer(CPIA, "auditor"), 403, "forbidden"),
            ({"assignee": "ahmed.saleh"}, tokens.bearer(CPIA, "system"), 403, "forbidden"),
            ({"assignee": "ahmed.saleh"}, tokens.bearer(CASA, "supervisor"), 404, "referral-not-found"),
            ({"assignee": ""}, supervisor, 422, "validation"),
            ({"assignee": "a b"}, supervisor, 422, "validation"),
            ({"assignee": "x" * 201}, supervisor, 422, "validation"),
            ({"assignee": 5}, supervisor, 422, "validation"),
            ({"assignee": "ahmed.saleh", "note": "x"}, supervisor, 422, "validation"),
            ({}, supervisor, 422, "validation"),
        ]
        for body, headers, status, slug in refusals:
            answer = await cpia.post(f"/referrals/{rid}/assign", json=body, headers=headers)
            assert (answer.status_code, answer.json()["type"]) == (status, f"/problems/{slug}"), body
            assert answer.headers["content-type"] == "application/problem+json"
        unknown = "0190aaaa-0000-7000-8000-000000000000"
        missing = await cpia.post(f"/referrals/{unknown}/assign", json={"assignee": "ahmed.saleh"}, headers=supervisor)
        assert (missing.status_code, missing.json()["type"]) == (404, "/problems/referral-not-found")
        no_token = await cpia.post(f"/referrals/{rid}/assign", json={"assignee": "ahmed.saleh"})
        assert no_token.status_code == 401
        assert (await cpia.get(f"/referrals/{rid}", headers=supervisor)).json() == before


def person(given: str, family: str, **more: str) -> dict[str, Any]:
    return {"given_name": given, "family_name": family, **more}


async def test_search_by_person_status_service_dates_and_assignee_pages_through_every_match(
    node_factory, tokens, staff_dir, database_url
):
    services = [MAIN_SERVICE, FAR_SERVICE]
    people = [
        person("Nicolò", "De Santis", phone="+39 333 1234567"),
        person("Amina", "Khaldi"),
        person("Nicola", "Rossi", email="nicola.rossi@example.org"),
        person("Amina", "Bensaid"),
        person("Ion", "Popescu_50%"),
    ]
    async with (
        node_factory(CASA, database_url=database_url, staff_dir=staff_dir) as casa,
        node_factory(CPIA, services=services, staff_dir=staff_dir) as cpia,
    ):
        ids = []
        for i, who in enumerate(people):
            body = referral_body(person=who, service_id="other-service" if i % 2 else "main-service")
            ids.append((await casa.post("/referrals", json=body, headers=tokens.bearer(CASA))).json()["id"])
        await eventually(lambda: received(cpia, tokens, ids[-1]))
        await cpia.post(f"/referrals/{ids[1]}/reject", json={"reason_code": "duplicate"}, headers=tokens.bearer(CPIA))
        at_casa = tokens.bearer(CASA)

        async def rejected_at_casa() -> bool:
            return (await casa.get(f"/referrals/{ids[1]}", headers=at_casa)).json()["status"] == "rejected"

        await eventually(rejected_at_casa)
        taken = {"assignee": "operator-pioltello-casa"}
        own = await casa.post(f"/referrals/{ids[2]}/assign", json=taken, headers=at_casa)
        assert own.status_code == 200

        async def found(query: str, headers: dict[str, str] = at_casa) -> list[str]:
            answer = await casa.get(f"/referrals?{query}", headers=headers)
            assert answer.status_code == 200, answer.json()
            return [item["id"] for item in answer.json()["items"]]

        newest_first = list(reversed(ids))
        assert await found("") == [i for i in newest_first if i != ids[1]], "open ones unless asked"
        assert await found("include_closed=true") == newest_first
        assert await found("status=rejected") == [ids[1]], "a status filter reaches closed ones"
        assert await found("person=nicolo") == [ids[0]], "accents and case do not matter"
        assert await found("person=NICOL") == [ids[2], ids[0]]
        assert await found("person=santis%20nicol%C3%B2") == [ids[0]], "every word, in any order"
        assert await found("person=333%201234567") == [ids[0]]
        assert await found("person=rossi%40example") == [ids[2]]
        assert await found("person=amina") == [ids[3]]
        assert await found("person=amina&include_closed=true") == [ids[3], ids[1]]
        assert await found("person=%25") == [ids[4]], "% is a character, not a wildcard"
        assert await found("person=_50%25") == [ids[4]]
        assert await found("person=s_ntis") == [], "so is _"
        assert await found("service_id=other-service&include_closed=true") == [ids[3], ids[1]]
        assert await found("assignee=me") == [ids[2]]
        assert await found("assignee=operator-pioltello-casa&person=nicola") == [ids[2]]
        today = datetime.now(UTC).date()
        assert await found(f"created_from={today - timedelta(days=1)}&created_to={today + timedelta(days=1)}") == [
            i for i in newest_first if i != ids[1]
        ]
        assert await found(f"created_to={today - timedelta(days=2)}") == []
        assert await found(f"created_from={today + timedelta(days=2)}") == []

        seen, cursor = [], None
        while True:
            page = (
                await casa.get(
                    "/referrals?include_closed=true&limit=2" + (f"&cursor={cursor}" if cursor else ""), headers=at_casa
                )
            ).json()
            assert len(page["items"]) <= 2
            seen += [item["id"] for item in page["items"]]
            if not (cursor := page["next_cursor"]):
                break
        assert seen == newest_first, "every referral once, newest first"


@pytest.mark.parametrize(
    ("query", "status", "slug"),
    [
        ("created_from=2026-12-01&created_to=2026-11-01", 422, "invalid-dates"),
        ("created_to=9999-12-31", 422, "invalid-dates"),
        ("created_from=0001-01-01", 422, "invalid-dates"),
        ("created_from=yesterday", 422, "validation"),
        ("person=" + "x" * 201, 422, "validation"),
        ("assignee=" + "x" * 201, 422, "validation"),
        ("include_closed=maybe", 422, "validation"),
    ],
)
async def test_a_search_it_cannot_run_answers_a_problem(node_factory, tokens, query, status, slug):
    async with node_factory(CASA) as casa:
        answer = await casa.get(f"/referrals?{query}", headers=tokens.bearer(CASA))
        assert (answer.status_code, answer.json()["type"]) == (status, f"/problems/{slug}")
        assert answer.headers["content-type"] == "application/problem+json"


async def test_referrals_held_before_the_caseload_existed_are_found_by_person(database_url):
    """Revision 0003 fills the folded person details of the referrals already there."""
    db = Database(database_url)

    at = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    row = {
        "direction": "outgoing",
        "sender_agency": CASA,
        "receiver_agency": CPIA,
        "service_id": "main-service",
        "priority": "routine",
        "status": "received",
        "legal_basis": {"basis": "public-task"},
        "our_step": 1,
        "their_step": 1,
        "created_at": at,
        "updated_at": at,
    }
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(upgrade_to, MIGRATIONS, "0002")
            await conn.execute(
                insert(tables.referrals).values(
                    id="r-held", personal={"person": person("Nicolò", "De Santis"), "reason": ""}, **row
                )
            )
            await conn.execute(insert(tables.referrals).values(id="r-erased", personal=None, **row))
        await db.migrate(MIGRATIONS)
        async with db.engine.connect() as conn:
            query = select(tables.referrals.c.id, tables.referrals.c.person_search, tables.referrals.c.assignee)
            found = {r.id: (r.person_search, r.assignee) for r in await conn.execute(query)}
    finally:
        await db.dispose()
    assert found == {"r-held": ("nicolo | de santis", None), "r-erased": (None, None)}


async def test_a_person_whose_details_were_erased_is_found_no_more(node_factory, tokens, database_url):
    async with node_factory(CASA, database_url=database_url) as casa, node_factory(CPIA) as cpia:
        body = referral_body(person=person("Lucia", "Ferraris"))
        rid = (await casa.post("/referrals", json=body, headers=tokens.bearer(CASA))).json()["id"]
        await eventually(lambda: received(cpia, tokens, rid))
        query = "/referrals?person=ferraris&include_closed=true"
        assert [i["id"] for i in (await casa.get(query, headers=tokens.bearer(CASA))).json()["items"]] == [rid]
        withdrawn = await casa.post(f"/referrals/{rid}/withdraw-consent", headers=tokens.bearer(CASA))
        assert withdrawn.status_code == 200, withdrawn.text

        async def erased_at_both() -> bool:
            ours = (await casa.get(f"/referrals/{rid}", headers=tokens.bearer(CASA))).json()
            theirs = (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).json()
            return ours["erased"] is not None and theirs["erased"] is not None

        await eventually(erased_at_both)
        assert (await casa.get(query, headers=tokens.bearer(CASA))).json()["items"] == []
        assert (await cpia.get(query, headers=tokens.bearer(CPIA))).json()["items"] == []
        listed = (await casa.get("/referrals?include_closed=true", headers=tokens.bearer(CASA))).json()["items"]
        assert [i["id"] for i in listed] == [rid], "the referral itself is still listed"


async def test_two_workers_taking_the_same_referral_at_once_leave_it_to_one(
    node_factory, tokens, staff_dir, database_url
):
    async with (
        node_factory(CASA, staff_dir=staff_dir) as casa,
        node_factory(CPIA, database_url=database_url, staff_dir=staff_dir) as cpia,
    ):
        rid = (await casa.post("/referrals", json=referral_body(), headers=tokens.bearer(CASA))).json()["id"]
        await eventually(lambda: received(cpia, tokens, rid))
        workers = ["operator-cpia2", "ahmed.saleh"]
        answers = await asyncio.gather(
            *(
                cpia.post(f"/referrals/{rid}/assign", json={"assignee": sub}, headers=tokens.bearer(CPIA, sub=sub))
                for sub in workers
            )
        )
        assert sorted(a.status_code for a in answers) == [200, 403]
        winner = workers[[a.status_code for a in answers].index(200)]
        found = (await cpia.get(f"/referrals/{rid}", headers=tokens.bearer(CPIA))).json()
        assert found["assignee"] == winner and [a["assignee"] for a in found["assignments"]] == [winner]
