"""Every role administers its own agency only: another agency's admin or system account
finds none of cpia2's staff, subscriptions, webhooks or deliveries (404, or an empty list),
and changes nothing of them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from crocevia_notifications.adapters.tables import deliveries, staff, subscriptions, webhooks
from tests.integration.notifications.support import consumed
from tests.kit.services import eventually

OWNER = ("cpia2", "admin")
# Another agency's accounts: its admin, and a system account of its own.
OUTSIDERS = {
    "other-admin": ("pioltello-casa", "admin", "admin-pioltello-casa"),
    "other-system": ("pioltello-casa", "system", "svc-pioltello-casa"),
}
ADMINISTERED = (staff, subscriptions, webhooks, deliveries)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple]]:
    """Every row of the administered tables, as stored."""
    async with engine.connect() as connection:
        return {
            table.name: sorted(tuple(row) for row in await connection.execute(select(table))) for table in ADMINISTERED
        }


def a_person(sub: str) -> dict:
    return {"sub": sub, "name": "Intrusa", "email": f"{sub}@evil.test", "roles": ["admin"]}


async def cpia2_with_a_webhook(app, tokens, receiver, events, js) -> tuple[str, int]:
    """cpia2's own webhook (with one delivery) and subscription, made by cpia2's admin."""
    owner = tokens.bearer(*OWNER, sub="admin-cpia2")
    hook = await app.post("/webhooks", json={"url": receiver.url("cpia2")}, headers=owner)
    assert hook.status_code == 201, hook.text
    added = await app.post("/agencies/cpia2/subscriptions", json={"roles": ["supervisor"]}, headers=owner)
    assert added.status_code == 201, added.text
    await events.requested("ref-1")
    await eventually(lambda: consumed(js))
    hook_id = hook.json()["id"]

    async def recorded() -> bool:
        # The receiver has it and the sender has recorded it: nothing of cpia2's moves any more.
        page = (await app.get(f"/webhooks/{hook_id}/deliveries", headers=owner)).json()
        return [d["status"] for d in page["items"]] == ["sent"] and len(receiver.hits["cpia2"]) == 1

    await eventually(recorded)
    return hook_id, added.json()["id"]


@pytest.mark.parametrize("outsider", sorted(OUTSIDERS))
async def test_another_agencys_admin_or_system_account_finds_and_changes_nothing_of_cpia2(
    outsider, notifications_factory, database_url, engine, tokens, receiver, events, js
):
    agency, role, sub = OUTSIDERS[outsider]
    them = tokens.bearer(agency, role, sub=sub)
    async with notifications_factory(database_url) as app:
        hook_id, subscription_id = await cpia2_with_a_webhook(app, tokens, receiver, events, js)
        before = await snapshot(engine)
        answers = {
            "list staff": await app.get("/agencies/cpia2/staff", headers=them),
            "import staff": await app.post("/agencies/cpia2/staff/import", json=[a_person("x")], headers=them),
            "get a person": await app.get("/agencies/cpia2/staff/op-en", headers=them),
            "put a person": await app.put("/agencies/cpia2/staff/x", json=a_person("x"), headers=them),
            "change an e-mail": await app.patch(
                "/agencies/cpia2/staff/op-en", json={"email": "op-en@evil.test"}, headers=them
            ),
            "deactivate": await app.patch("/agencies/cpia2/staff/op-en", json={"active": False}, headers=them),
            "list subscriptions": await app.get("/agencies/cpia2/subscriptions", headers=them),
            "add a subscription": await app.post(
                "/agencies/cpia2/subscriptions", json={"roles": ["operator"]}, headers=them
            ),
            "remove a subscription": await app.delete(f"/agencies/cpia2/subscriptions/{subscription_id}", headers=them),
            "register a webhook": await app.post(
                "/webhooks", json={"url": receiver.url("evil"), "agency": "cpia2"}, headers=them
            ),
            "get a webhook": await app.get(f"/webhooks/{hook_id}", headers=them),
            "disable a webhook": await app.delete(f"/webhooks/{hook_id}", headers=them),
            "enable a webhook": await app.post(f"/webhooks/{hook_id}/enable", headers=them),
            "rotate a secret": await app.post(f"/webhooks/{hook_id}/rotate-secret", headers=them),
            "list deliveries": await app.get(f"/webhooks/{hook_id}/deliveries", headers=them),
        }
        # The same sub as a person of cpia2 is another person at another agency.
        preferences = await app.put(
            "/me/preferences", json={"digest": "daily"}, headers=tokens.bearer(agency, role, sub="op-en")
        )
        listed = await app.get("/webhooks", params={"agency": "cpia2"}, headers=them)
        listed_own = await app.get("/webhooks", headers=them)
        after = await snapshot(engine)
        still = await app.get(f"/webhooks/{hook_id}", headers=tokens.bearer(*OWNER, sub="admin-cpia2"))
    assert {name: a.status_code for name, a in answers.items()} == {name: 404 for name in answers}
    assert {a.headers["content-type"] for a in answers.values()} == {"application/problem+json"}
    shown = " ".join(a.text for a in answers.values())
    assert "whsec_" not in shown and receiver.url("cpia2") not in shown and "@staff.test" not in shown
    assert (preferences.status_code, preferences.json()["type"]) == (403, "/problems/unknown-person")
    assert (listed.status_code, listed.json(), listed_own.json()) == (200, [], [])
    assert len(before["webhooks"]) == 1 and len(before["deliveries"]) == 1 and len(before["subscriptions"]) == 1
    assert after == before
    assert still.json()["active"] is True


async def test_a_system_account_administers_its_own_agency(notifications_factory, tokens, receiver):
    system = tokens.bearer("cpia2", "system", sub="svc-cpia2")
    async with notifications_factory() as app:
        created = await app.post("/webhooks", json={"url": receiver.url("cpia2")}, headers=system)
        listed = await app.get("/webhooks", headers=system)
        people = await app.get("/agencies/cpia2/staff", headers=system)
    assert created.status_code == 201, created.text
    assert [h["id"] for h in listed.json()] == [created.json()["id"]]
    assert people.status_code == 200 and len(people.json()) == 5


async def test_a_supervisor_sees_only_its_own_agencys_webhooks(notifications_factory, tokens, receiver):
    async with notifications_factory() as app:
        await app.post(
            "/webhooks", json={"url": receiver.url("cpia2")}, headers=tokens.bearer(*OWNER, sub="admin-cpia2")
        )
        own = await app.get("/webhooks", headers=tokens.bearer("cpia2", "supervisor"))
        other = await app.get(
            "/webhooks", params={"agency": "cpia2"}, headers=tokens.bearer("pioltello-casa", "supervisor")
        )
    assert len(own.json()) == 1
    assert other.json() == []
