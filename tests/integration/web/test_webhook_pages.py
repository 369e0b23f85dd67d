"""The webhooks' pages: an agency's admins register an endpoint (its secret shown once, on
that answer), rotate its secret, disable and enable it; its supervisors see the endpoints
and each one's deliveries with their attempts, and nothing more. Read back through the API;
bad input is shown and changes nothing. On SQLite and PostgreSQL."""

from __future__ import annotations

import functools
import re

import httpx
import pytest

from tests.integration.notifications.conftest import NotificationsFactory
from tests.integration.notifications.support import WebhookReceiver, consumed, looked_again, until
from tests.integration.web.pages import csrf_of, error_next_to, sign_in
from tests.kit.services import Tokens, eventually

ADMIN = ("cpia2", "admin")


@pytest.fixture
def notifications_factory(notifications_factory: NotificationsFactory, database_url: str) -> NotificationsFactory:
    return functools.partial(notifications_factory, database_url)


async def hooks(app: httpx.AsyncClient, tokens: Tokens) -> list[dict]:
    answer = await app.get("/webhooks", headers=tokens.bearer(*ADMIN))
    assert answer.status_code == 200, answer.text
    return answer.json()


async def register_from_page(app: httpx.AsyncClient, url: str, event_types: list[str]) -> httpx.Response:
    csrf = csrf_of((await app.get("/ui/webhooks")).text)
    return await app.post("/ui/webhooks", data={"csrf": csrf, "url": url, "event_types": event_types})


async def test_an_admin_registers_rotates_disables_and_enables_a_webhook_from_the_page(
    notifications_factory, receiver: WebhookReceiver, tokens
):
    async with notifications_factory() as app:
        await sign_in(app, "cpia2", "admin")
        created = await register_from_page(app, receiver.url("cpia2"), ["requested", "escalation"])
        [hook] = await hooks(app, tokens)
        secret = re.search(r'id="secret-value">(whsec_[^<]+)<', created.text).group(1)
        listed = await app.get("/ui/webhooks")
        csrf = csrf_of(listed.text)
        rotated = await app.post(f"/ui/webhooks/{hook['id']}/rotate", data={"csrf": csrf})
        new_secret = re.search(r'id="secret-value">(whsec_[^<]+)<', rotated.text).group(1)
        after_rotation = (await hooks(app, tokens))[0]
        disabled = await app.post(f"/ui/webhooks/{hook['id']}/disable", data={"csrf": csrf})
        after_disabling = (await hooks(app, tokens))[0]
        enabled = await app.post(f"/ui/webhooks/{hook['id']}/enable", data={"csrf": csrf})
        after_enabling = (await hooks(app, tokens))[0]
    assert created.status_code == 201
    assert (hook["url"], hook["event_types"], hook["active"]) == (
        receiver.url("cpia2"),
        ["escalation", "requested"],
        True,
    )
    assert f'id="webhook-{hook["id"]}" data-active="true"' in created.text
    assert "whsec_" not in listed.text, "the secret shows once, on the answer that made it"
    assert rotated.status_code == 200 and new_secret != secret
    assert after_rotation["previous_secret_until"] is not None
    assert disabled.status_code == 303 and after_disabling["active"] is False
    assert enabled.status_code == 303 and after_enabling["active"] is True


async def test_a_bad_webhook_is_shown_with_the_problem_and_nothing_is_registered(notifications_factory, tokens):
    async with notifications_factory() as app:
        await sign_in(app, "cpia2", "admin")
        inside = await register_from_page(app, "http://10.0.0.7/hook", [])
        odd = await register_from_page(app, "https://example.org/hook", ["pigeon"])
        empty = await register_from_page(app, "", [])
        csrf = csrf_of((await app.get("/ui/webhooks")).text)
        unknown = await app.post("/ui/webhooks/no-such-hook/disable", data={"csrf": csrf})
        listed = await hooks(app, tokens)
    assert inside.status_code == 422 and 'id="problem"' in inside.text
    assert odd.status_code == 422 and "pigeon" in odd.text
    assert empty.status_code == 422 and error_next_to(empty.text, "url")
    assert unknown.status_code == 404 and 'id="problem"' in unknown.text
    assert listed == []


async def test_a_supervisor_sees_webhooks_and_deliveries_but_may_not_change_them(
    notifications_factory, receiver: WebhookReceiver, events, js, tokens
):
    async with notifications_factory() as app:
        created = await app.post(
            "/webhooks",
            json={"url": receiver.url("cpia2"), "event_types": ["requested"]},
            headers=tokens.bearer(*ADMIN),
        )
        hook = created.json()
        await events.requested("ref-1")
        await until(lambda: len(receiver.hits["cpia2"]) >= 1)
        await eventually(lambda: consumed(js))
        await looked_again(app, "webhooks")
        [delivery] = (await app.get(f"/webhooks/{hook['id']}/deliveries", headers=tokens.bearer(*ADMIN))).json()[
            "items"
        ]

        await sign_in(app, "cpia2", "supervisor")
        listed = await app.get("/ui/webhooks")
        deliveries = await app.get(f"/ui/webhooks/{hook['id']}")
        csrf = csrf_of(listed.text)
        refused = [
            await app.post("/ui/webhooks", data={"csrf": csrf, "url": receiver.url("other")}),
            await app.post(f"/ui/webhooks/{hook['id']}/rotate", data={"csrf": csrf}),
            await app.post(f"/ui/webhooks/{hook['id']}/disable", data={"csrf": csrf}),
        ]
        after = await hooks(app, tokens)
    assert listed.status_code == 200 and f'id="webhook-{hook["id"]}"' in listed.text
    assert 'id="add-webhook"' not in listed.text and "/rotate" not in listed.text
    assert deliveries.status_code == 200
    assert f'id="delivery-{delivery["id"]}" data-status="sent" data-attempts="1"' in deliveries.text
    assert "ref-1" not in deliveries.text, "what the page shows of a delivery is its record, not its payload"
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert [(h["id"], h["active"], h["previous_secret_until"]) for h in after] == [(hook["id"], True, None)]


async def test_another_agency_sees_nothing_of_a_webhook(notifications_factory, receiver: WebhookReceiver, tokens):
    async with notifications_factory() as app:
        created = await app.post("/webhooks", json={"url": receiver.url("cpia2")}, headers=tokens.bearer(*ADMIN))
        hook = created.json()
        await sign_in(app, "pioltello-casa", "supervisor")
        page = await app.get(f"/ui/webhooks/{hook['id']}")
        listed = await app.get("/ui/webhooks")
    assert page.status_code == 404 and receiver.url("cpia2") not in page.text
    assert hook["id"] not in listed.text
