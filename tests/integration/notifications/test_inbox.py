"""The in-app inbox: the caller's items, unread first, in cursor pages; marking read; and
who may not have an inbox at all."""

from __future__ import annotations

import json

from crocevia_contracts import EventName
from tests.integration.notifications.support import consumed
from tests.kit.services import eventually

CPIA = "cpia2"


async def test_items_come_unread_first_newest_first_in_cursor_pages(notifications_factory, events, js, tokens):
    me = tokens.bearer(CPIA, "operator", sub="operator-cpia2")
    async with notifications_factory() as app:
        for n in range(5):
            await events.requested(f"ref-{n}")
        await eventually(lambda: consumed(js))
        first = (await app.get("/inbox?limit=2", headers=me)).json()
        assert [i["referral_id"] for i in first["items"]] == ["ref-4", "ref-3"]
        assert first["unread"] == 5

        read = await app.post(f"/inbox/{first['items'][0]['id']}/read", headers=me)
        assert read.status_code == 200 and read.json()["read_at"] is not None

        pages, cursor = [], None
        while True:
            answer = (
                await app.get("/inbox", params={"limit": 2, **({"cursor": cursor} if cursor else {})}, headers=me)
            ).json()
            pages.append([i["referral_id"] for i in answer["items"]])
            cursor = answer["next_cursor"]
            if cursor is None:
                break
        assert pages == [["ref-3", "ref-2"], ["ref-1", "ref-0"], ["ref-4"]]
        assert answer["unread"] == 4
        unread = (await app.get("/inbox?unread=true", headers=me)).json()["items"]
        assert [i["referral_id"] for i in unread] == ["ref-3", "ref-2", "ref-1", "ref-0"]


async def test_marking_read_is_idempotent_and_only_for_ones_own_items(notifications_factory, events, js, tokens):
    me = tokens.bearer(CPIA, "operator", sub="operator-cpia2")
    colleague = tokens.bearer(CPIA, "operator", sub="op-en")
    async with notifications_factory() as app:
        await events.requested("ref-1")
        await eventually(lambda: consumed(js))
        item = (await app.get("/inbox", headers=me)).json()["items"][0]
        first = (await app.post(f"/inbox/{item['id']}/read", headers=me)).json()
        again = (await app.post(f"/inbox/{item['id']}/read", headers=me)).json()
        assert first["read_at"] == again["read_at"]

        other = await app.post(f"/inbox/{item['id']}/read", headers=colleague)
        assert other.status_code == 404
        assert other.json()["type"] == "/problems/item-not-found"
        assert (await app.get("/inbox", headers=colleague)).json()["items"][0]["read_at"] is None


async def test_every_item_carries_public_facts_and_a_link_and_nothing_about_the_person(
    notifications_factory, events, js, tokens
):
    async with notifications_factory(node_urls={CPIA: "http://cpia2.node.test"}) as app:
        requested = await events.requested("ref-9", priority="urgent")
        await events.step(requested, EventName.RECEIVED)
        await eventually(lambda: consumed(js))
        items = (await app.get("/inbox", headers=tokens.bearer(CPIA, sub="op-en"))).json()["items"]
    assert len(items) == 1
    item = items[0]
    assert set(item) == {
        "id",
        "kind",
        "event",
        "referral_id",
        "sender_agency",
        "receiver_agency",
        "service_id",
        "priority",
        "status",
        "title",
        "body",
        "link",
        "created_at",
        "read_at",
    }
    assert (item["event"], item["priority"]) == ("requested", "urgent")
    assert item["title"] == "New referral from PIOLTELLO-CASA for Corso di italiano A1"
    assert item["link"] == "http://cpia2.node.test/ui/referrals/ref-9"
    assert "op-1" not in json.dumps(item)  # not even the staff member who captured the consent


async def test_a_token_of_someone_not_in_the_staff_directory_gets_a_clear_error(notifications_factory, tokens):
    async with notifications_factory() as app:
        answer = await app.get("/inbox", headers=tokens.bearer(CPIA, sub="stranger"))
        no_token = await app.get("/inbox")
    assert answer.status_code == 403
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["type"] == "/problems/unknown-person"
    assert "stranger" in answer.json()["detail"]
    assert no_token.status_code == 401


async def test_an_inactive_person_has_no_inbox_and_hears_of_nothing_new(notifications_factory, events, js, tokens):
    admin = tokens.bearer(CPIA, "admin", sub="admin-cpia2")
    async with notifications_factory() as app:
        off = await app.patch("/agencies/cpia2/staff/op-en", json={"active": False}, headers=admin)
        assert off.status_code == 200 and off.json()["active"] is False
        await events.requested("ref-1")
        await eventually(lambda: consumed(js))
        answer = await app.get("/inbox", headers=tokens.bearer(CPIA, sub="op-en"))
        assert answer.status_code == 403
        assert answer.json()["type"] == "/problems/inactive-person"

        back = await app.patch("/agencies/cpia2/staff/op-en", json={"active": True}, headers=admin)
        assert back.status_code == 200
        assert (await app.get("/inbox", headers=tokens.bearer(CPIA, sub="op-en"))).json()["items"] == []
