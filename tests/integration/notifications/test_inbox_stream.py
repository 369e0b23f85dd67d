"""``GET /inbox/stream``: new items arrive live as Server-Sent Events, from whichever
replica made them; a reconnecting client gets what it missed."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import httpx

from crocevia_common.web.session_cookie import SESSION_COOKIE
from crocevia_notifications.bootstrap import create_app
from tests.integration.notifications.support import consumed, served
from tests.kit.nats import free_port
from tests.kit.services import eventually


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, str]]:
    """Parse a text/event-stream into events (comments skipped)."""
    event: dict[str, str] = {}
    async for line in response.aiter_lines():
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            field, _, value = line.partition(":")
            event[field] = value.removeprefix(" ")


async def test_new_items_arrive_live_on_the_stream_also_from_another_replica_to_a_browser_with_the_cookie(
    notifications_factory, database_url, events, js, tokens
):
    settings = notifications_factory.settings(database_url, inbox_stream_poll_seconds=30)
    other = notifications_factory(database_url, inbox_stream_poll_seconds=30)
    async with served(create_app(settings), free_port()) as url, other, httpx.AsyncClient(timeout=10) as client:
        # As a browser's EventSource on the inbox page asks: no header, the pages' cookie.
        cookie = {"Cookie": f"{SESSION_COOKIE}={tokens.session('cpia2', sub='operator-cpia2')}"}
        async with client.stream("GET", f"{url}/inbox/stream", headers=cookie) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            received: list[dict[str, str]] = []

            async def read() -> None:
                async for event in sse_events(response):
                    received.append(event)
                    if len(received) == 3:
                        return

            reader = asyncio.create_task(read())
            for n in range(3):
                await events.requested(f"ref-{n}")
            await asyncio.wait_for(reader, 5)  # far sooner than the 30 s poll: woken, not polled
    assert [e["event"] for e in received] == ["inbox-item"] * 3
    items = [json.loads(e["data"]) for e in received]
    assert sorted(i["referral_id"] for i in items) == ["ref-0", "ref-1", "ref-2"]  # replicas race
    assert [int(e["id"]) for e in received] == [i["id"] for i in items]


async def test_a_client_reconnecting_with_last_event_id_gets_what_it_missed(notifications_factory, events, js, tokens):
    settings = notifications_factory.settings()
    async with served(create_app(settings), free_port()) as url, httpx.AsyncClient(timeout=10) as client:
        for n in range(3):
            await events.requested(f"ref-{n}")
        await eventually(lambda: consumed(js))
        me = tokens.bearer("cpia2", sub="operator-cpia2")
        first = (await client.get(f"{url}/inbox", headers=me)).json()["items"][-1]  # ref-0, the oldest
        headers = {**me, "Last-Event-ID": str(first["id"])}
        async with client.stream("GET", f"{url}/inbox/stream", headers=headers) as response:
            missed = []
            async for event in sse_events(response):
                missed.append(json.loads(event["data"])["referral_id"])
                if len(missed) == 2:
                    break
    assert missed == ["ref-1", "ref-2"]


async def test_the_stream_needs_a_known_person(notifications_factory, tokens):
    async with notifications_factory() as app:
        anonymous = await app.get("/inbox/stream")
        stranger = await app.get("/inbox/stream", headers=tokens.bearer("cpia2", sub="stranger"))
        forged = await app.get("/inbox/stream", headers={"Cookie": f"{SESSION_COOKIE}=not-a-session"})
    assert anonymous.status_code == 401
    assert (stranger.status_code, stranger.json()["type"]) == (403, "/problems/unknown-person")
    assert (forged.status_code, forged.json()["type"]) == (401, "/problems/invalid-session")
