"""The staff directory and subscriptions through the admin API: each agency's admins manage
their own people; the files load the demo; bad input is refused and changes nothing."""

from __future__ import annotations

from tests.integration.notifications.support import consumed
from tests.kit.services import eventually

ADMIN = ("cpia2", "admin")


def someone(sub: str = "new-op", **extra) -> dict:
    return {
        "sub": sub,
        "name": "Nuova Operatrice",
        "email": f"{sub}@cpia2.test",
        "language": "en",
        "roles": ["operator"],
        **extra,
    }


async def test_the_staff_files_are_loaded_at_start(notifications_factory, tokens):
    async with notifications_factory() as app:
        staff = (await app.get("/agencies/cpia2/staff", headers=tokens.bearer(*ADMIN, sub="admin-cpia2"))).json()
        me = (await app.get("/me", headers=tokens.bearer("cpia2", sub="op-en"))).json()
    assert [p["sub"] for p in staff] == ["admin-cpia2", "op-en", "op-second", "operator-cpia2", "supervisor-cpia2"]
    assert (me["agency"], me["language"], me["services"], me["active"]) == ("cpia2", "en", ["main-service"], True)


async def test_an_admin_adds_a_person_who_then_hears_of_requests(notifications_factory, events, js, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        created = await app.put("/agencies/cpia2/staff/new-op", json=someone(), headers=admin)
        replaced = await app.put("/agencies/cpia2/staff/new-op", json=someone(name="Nuova"), headers=admin)
        assert (created.status_code, replaced.status_code) == (201, 200)
        await events.requested("ref-1")
        await eventually(lambda: consumed(js))
        items = (await app.get("/inbox", headers=tokens.bearer("cpia2", sub="new-op"))).json()["items"]
        fetched = (await app.get("/agencies/cpia2/staff/new-op", headers=admin)).json()
    assert [i["referral_id"] for i in items] == ["ref-1"]
    assert fetched["name"] == "Nuova"


async def test_many_people_are_imported_at_once(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        answer = await app.post("/agencies/cpia2/staff/import", json=[someone("a"), someone("op-en")], headers=admin)
        staff = (await app.get("/agencies/cpia2/staff", headers=admin)).json()
    assert answer.json() == {"created": 1, "updated": 1}
    assert len(staff) == 6


async def test_admins_and_system_accounts_manage_only_their_own_agency_and_operators_none(
    notifications_factory, tokens
):
    async with notifications_factory() as app:
        other = await app.put(
            "/agencies/pioltello-casa/staff/x", json=someone("x"), headers=tokens.bearer(*ADMIN, sub="admin-cpia2")
        )
        operator = await app.get("/agencies/cpia2/staff", headers=tokens.bearer("cpia2", "operator"))
        system = await app.get("/agencies/pioltello-casa/staff", headers=tokens.bearer("network", "system"))
        own_system = await app.get("/agencies/pioltello-casa/staff", headers=tokens.bearer("pioltello-casa", "system"))
    assert (other.status_code, other.json()["type"]) == (404, "/problems/unknown-agency")
    assert operator.status_code == 403
    assert (system.status_code, system.json()["type"]) == (404, "/problems/unknown-agency")
    assert own_system.status_code == 200 and len(own_system.json()) == 3


async def test_bad_staff_input_gets_a_clear_problem_and_changes_nothing(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    atlantis = tokens.bearer("atlantis", "system")  # an agency the directory does not hold
    async with notifications_factory() as app:
        unknown_agency = await app.put("/agencies/atlantis/staff/x", json=someone("x"), headers=atlantis)
        bad_role = await app.put("/agencies/cpia2/staff/x", json=someone("x", roles=["boss"]), headers=admin)
        bad_zone = await app.put("/agencies/cpia2/staff/x", json=someone("x", timezone="Mars/Olympus"), headers=admin)
        mismatch = await app.put("/agencies/cpia2/staff/x", json=someone("y"), headers=admin)
        missing = await app.patch("/agencies/cpia2/staff/nobody", json={"active": False}, headers=admin)
        bad_patch = await app.patch("/agencies/cpia2/staff/op-en", json={"roles": ["boss"]}, headers=admin)
        staff = (await app.get("/agencies/cpia2/staff", headers=admin)).json()
    assert (unknown_agency.status_code, unknown_agency.json()["type"]) == (404, "/problems/unknown-agency")
    assert bad_role.status_code == 422 and "unknown roles" in bad_role.json()["detail"]
    assert bad_zone.status_code == 422 and "unknown time zone" in bad_zone.json()["detail"]
    assert (mismatch.status_code, mismatch.json()["type"]) == (422, "/problems/sub-mismatch")
    assert (missing.status_code, missing.json()["type"]) == (404, "/problems/unknown-person")
    assert bad_patch.status_code == 422
    assert len(staff) == 5
    assert next(p for p in staff if p["sub"] == "op-en")["roles"] == ["operator"]


async def test_preferences_are_the_persons_own_and_validated(notifications_factory, tokens):
    me = tokens.bearer("cpia2", sub="op-en")
    async with notifications_factory() as app:
        saved = await app.put(
            "/me/preferences",
            json={"digest": "daily", "daily_digest_at": "09:15", "event_types": {"received": ["inbox", "email"]}},
            headers=me,
        )
        bad = await app.put("/me/preferences", json={"digest": "weekly"}, headers=me)
        mine = (await app.get("/me", headers=me)).json()["preferences"]
    assert saved.status_code == 200
    assert bad.status_code == 422
    assert (mine["digest"], mine["daily_digest_at"], mine["event_types"]) == (
        "daily",
        "09:15:00",
        {"received": ["inbox", "email"]},
    )


async def test_a_subscription_sends_urgent_requests_to_the_supervisors_too(notifications_factory, events, js, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        added = await app.post(
            "/agencies/cpia2/subscriptions",
            headers=admin,
            json={"roles": ["supervisor"], "event_types": ["requested"], "priorities": ["urgent"]},
        )
        assert added.status_code == 201, added.text
        listed = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
        await events.requested("routine-1")
        await events.requested("urgent-1", priority="urgent")
        await events.requested("other-service", service_id="second-service")
        await eventually(lambda: consumed(js))
        supervisor = (await app.get("/inbox", headers=tokens.bearer("cpia2", sub="supervisor-cpia2"))).json()
        second = (await app.get("/inbox", headers=tokens.bearer("cpia2", sub="op-second"))).json()
        removed = await app.delete(f"/agencies/cpia2/subscriptions/{added.json()['id']}", headers=admin)
        default = await app.delete("/agencies/cpia2/subscriptions/999", headers=admin)
    assert [s["default"] for s in listed] == [True, True, True, False]
    assert [i["referral_id"] for i in supervisor["items"]] == ["urgent-1"]
    assert [i["referral_id"] for i in second["items"]] == ["other-service"]  # only their service
    assert removed.status_code == 204
    assert (default.status_code, default.json()["type"]) == (404, "/problems/subscription-not-found")


async def test_a_subscription_with_an_unknown_topic_or_role_is_refused(notifications_factory, tokens):
    admin = tokens.bearer(*ADMIN, sub="admin-cpia2")
    async with notifications_factory() as app:
        topic = await app.post(
            "/agencies/cpia2/subscriptions", json={"roles": ["operator"], "event_types": ["x"]}, headers=admin
        )
        role = await app.post("/agencies/cpia2/subscriptions", json={"roles": ["boss"]}, headers=admin)
        listed = (await app.get("/agencies/cpia2/subscriptions", headers=admin)).json()
    assert topic.status_code == 422 and role.status_code == 422
    assert len(listed) == 3
