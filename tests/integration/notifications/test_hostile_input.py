"""Hostile input to the notifications' HTTP API: each gets a 4xx problem+json with a stable
type, and none changes the staff, subscriptions, webhooks or inboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from crocevia_notifications.bootstrap import create_app
from crocevia_notifications.settings import NotificationsSettings
from tests.integration.notifications.conftest import person, staff_file
from tests.kit.hostile import BIG, DEEP_JSON, BadInput, assert_problem, cursor_of, cursor_of_text
from tests.kit.nats import NatsProcess
from tests.kit.services import Tokens, agency_file, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON = {"content-type": "application/json"}
ME = "/agencies/cpia2/staff/operator-cpia2"
NEW_PERSON = {"sub": "new-person", "name": "New Person", "roles": ["operator"]}

# (who sends it, the bad input): "operator" is operator-cpia2, "admin" admin-cpia2.
BAD_INPUTS = [
    ("operator", BadInput("cursor of 3000-deep JSON", "GET", "/inbox", 422, "validation",
                          {"cursor": cursor_of_text(DEEP_JSON)})),
    ("operator", BadInput("cursor of nested JSON", "GET", "/inbox", 400, "invalid-cursor",
                          {"cursor": cursor_of_text("[" * 140)})),
    ("operator", BadInput("cursor with an id of 10**30", "GET", "/inbox", 400, "invalid-cursor",
                          {"cursor": cursor_of([0, BIG])})),
    ("operator", BadInput("cursor with an id of -10**30", "GET", "/inbox", 400, "invalid-cursor",
                          {"cursor": cursor_of([0, -BIG])})),
    ("operator", BadInput("cursor of another shape", "GET", "/inbox", 400, "invalid-cursor",
                          {"cursor": cursor_of({"p": 1})})),
    ("operator", BadInput("cursor of non-ASCII digits", "GET", "/inbox", 400, "invalid-cursor", {"cursor": "²"})),
    ("operator", BadInput("huge limit", "GET", "/inbox", 422, "validation", {"limit": str(BIG)})),
    ("operator", BadInput("item id of 10**30", "POST", f"/inbox/{BIG}/read", 422, "validation")),
    ("operator", BadInput("item id of non-ASCII digits", "POST", "/inbox/%D9%A1%D9%A2/read", 422, "validation")),
    ("operator", BadInput("item id 0", "POST", "/inbox/0/read", 422, "validation")),
    ("operator", BadInput("Last-Event-ID ²", "GET", "/inbox/stream", 400, "invalid-last-event-id",
                          headers={"Last-Event-ID": "²".encode()})),
    ("operator", BadInput("Last-Event-ID of Arabic-Indic digits", "GET", "/inbox/stream", 400,
                          "invalid-last-event-id", headers={"Last-Event-ID": "١٢".encode()})),
    ("operator", BadInput("Last-Event-ID of 10**30", "GET", "/inbox/stream", 400, "invalid-last-event-id",
                          headers={"Last-Event-ID": str(BIG)})),
    ("operator", BadInput("negative Last-Event-ID", "GET", "/inbox/stream", 400, "invalid-last-event-id",
                          headers={"Last-Event-ID": "-5"})),
    ("operator", BadInput("overlong Last-Event-ID", "GET", "/inbox/stream", 422, "validation",
                          headers={"Last-Event-ID": "1" * 101})),
    ("operator", BadInput("3000-deep preferences", "PUT", "/me/preferences", 400, "bad-request",
                          content=DEEP_JSON, headers=JSON)),
    ("operator", BadInput("preferences of the wrong type", "PUT", "/me/preferences", 422, "validation",
                          json={"digest": 5})),
    ("admin", BadInput("time zone of 1000 characters", "PATCH", ME, 422, "validation", json={"timezone": "x" * 1000})),
    ("admin", BadInput("unknown time zone", "PATCH", ME, 422, "validation", json={"timezone": "Mars/Base"})),
    ("admin", BadInput("3000-deep change", "PATCH", ME, 400, "bad-request", content=DEEP_JSON, headers=JSON)),
    ("admin", BadInput("empty change body", "PATCH", ME, 422, "validation", content=b"", headers=JSON)),
    ("admin", BadInput("overlong sub in the path", "PUT", f"/agencies/cpia2/staff/{'x' * 201}", 422, "validation",
                       json={**NEW_PERSON, "sub": "x" * 201})),
    ("admin", BadInput("agency that cannot exist", "GET", "/agencies/a b/staff", 422, "validation")),
    ("admin", BadInput("overlong agency", "GET", f"/agencies/{'x' * 65}/staff", 422, "validation")),
    ("admin", BadInput("a service list of 101", "PUT", "/agencies/cpia2/staff/new-person", 422, "validation",
                       json={**NEW_PERSON, "services": ["s"] * 101})),
    ("admin", BadInput("a staff file over 1 MiB", "POST", "/agencies/cpia2/staff/import", 413, "payload-too-large",
                       json=[NEW_PERSON] * 20_000)),
    ("admin", BadInput("subscription id of 10**30", "DELETE", f"/agencies/cpia2/subscriptions/{BIG}", 422,
                       "validation")),
    ("admin", BadInput("overlong service id", "POST", "/agencies/cpia2/subscriptions", 422, "validation",
                       json={"roles": ["operator"], "service_ids": ["x" * 101]})),
    ("admin", BadInput("101 service ids", "POST", "/agencies/cpia2/subscriptions", 422, "validation",
                       json={"roles": ["operator"], "service_ids": [f"s{i}" for i in range(101)]})),
    ("admin", BadInput("webhook for an agency that cannot exist", "POST", "/webhooks", 422, "validation",
                       json={"url": "https://example.org/hook", "agency": "*"})),
    ("admin", BadInput("webhook URL of 2001 characters", "POST", "/webhooks", 422, "validation",
                       json={"url": "https://example.org/" + "x" * 1982})),
    ("admin", BadInput("overlong event type", "POST", "/webhooks", 422, "validation",
                       json={"url": "https://example.org/hook", "event_types": ["x" * 41]})),
    ("admin", BadInput("webhooks of an agency that cannot exist", "GET", "/webhooks", 422, "validation",
                       {"agency": ">"})),
    ("admin", BadInput("overlong webhook id", "GET", f"/webhooks/{'x' * 65}", 422, "validation")),
    ("admin", BadInput("deliveries with a 3000-deep cursor", "GET", "/webhooks/x/deliveries", 422, "validation",
                       {"cursor": DEEP_JSON})),
]  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def service(
    module_nats: NatsProcess, module_tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """The notifications service with cpia2's staff, one subscription and one webhook."""
    tmp = tmp_path_factory.mktemp("notifications")
    agency_file(tmp / "agencies", "cpia2")
    staff_file(tmp / "staff", "cpia2", [person("operator-cpia2"), person("admin-cpia2", ["admin"])])
    settings = NotificationsSettings(
        nats_url=module_nats.url,
        database_url=f"sqlite+aiosqlite:///{tmp / 'notifications.db'}",
        auth_dev_key_file=module_tokens.key_file,
        agencies_dir=tmp / "agencies",
        staff_dir=tmp / "staff",
        webhook_allowed_hosts=["127.0.0.1"],
    )
    async with serve(create_app(settings)) as client:
        admin = module_tokens.bearer("cpia2", "admin", sub="admin-cpia2")
        added = await client.post("/agencies/cpia2/subscriptions", json={"roles": ["operator"]}, headers=admin)
        hook = await client.post("/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=admin)
        assert (added.status_code, hook.status_code) == (201, 201), (added.text, hook.text)
        yield client


async def state_of(client: httpx.AsyncClient, tokens: Tokens) -> list[Any]:
    """What an input could change: staff, subscriptions, webhooks, the operator's inbox."""
    admin = tokens.bearer("cpia2", "admin", sub="admin-cpia2")
    operator = tokens.bearer("cpia2", "operator", sub="operator-cpia2")
    answers = [
        await client.get("/agencies/cpia2/staff", headers=admin),
        await client.get("/agencies/cpia2/subscriptions", headers=admin),
        await client.get("/webhooks", headers=admin),
        await client.get("/inbox", headers=operator),
    ]
    assert [a.status_code for a in answers] == [200] * 4
    return [a.json() for a in answers]


@pytest.mark.parametrize(("who", "bad"), BAD_INPUTS, ids=[str(b) for _, b in BAD_INPUTS])
async def test_a_hostile_input_gets_a_problem_and_changes_nothing(
    service: httpx.AsyncClient, module_tokens: Tokens, who: str, bad: BadInput
) -> None:
    before = await state_of(service, module_tokens)
    answer = await bad.send(service, module_tokens.bearer("cpia2", who, sub=f"{who}-cpia2"))
    assert_problem(answer, bad.status, bad.problem)
    assert await state_of(service, module_tokens) == before


async def test_a_system_caller_naming_an_agency_that_cannot_exist_is_refused(
    service: httpx.AsyncClient, module_tokens: Tokens
) -> None:
    system = module_tokens.bearer("cpia2", "system", sub="network")
    for agency in ("a b", "*", ">", "²"):
        staff = await service.get(f"/agencies/{agency}/staff", headers=system)
        hook = await service.post("/webhooks", json={"url": "https://example.org/h", "agency": agency}, headers=system)
        assert_problem(staff, 422, "validation")
        assert_problem(hook, 422, "validation")


async def test_a_token_whose_sub_is_over_200_characters_is_invalid(
    service: httpx.AsyncClient, module_tokens: Tokens
) -> None:
    assert_problem(await service.get("/me", headers=module_tokens.bearer("cpia2", sub="x" * 201)), 401, "invalid-token")


async def test_a_token_in_the_url_counts_for_nothing(service: httpx.AsyncClient, module_tokens: Tokens) -> None:
    token = module_tokens.bearer("cpia2", sub="operator-cpia2")["Authorization"].removeprefix("Bearer ")
    for path in ("/me", "/inbox", "/inbox/stream", "/webhooks"):
        assert_problem(await service.get(path, params={"access_token": token}), 401, "unauthenticated")
