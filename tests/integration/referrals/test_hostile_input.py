"""Hostile input to a node's HTTP API: each gets a 4xx problem+json with a stable type,
and none changes anything. Requests racing with one Idempotency-Key create one referral."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from crocevia_referrals.bootstrap import create_app
from crocevia_referrals.settings import ReferralsSettings
from tests.integration.referrals.conftest import referral_body
from tests.kit.hostile import BIG, DEEP_JSON, BadInput, assert_problem, cursor_of, cursor_of_text
from tests.kit.nats import NatsProcess
from tests.kit.services import Tokens, agency_file, eventually, serve

CASA, CPIA = "pioltello-casa", "cpia2"
pytestmark = pytest.mark.asyncio(loop_scope="module")

JSON = {"content-type": "application/json"}
UUID = "01a2298c-fb02-729a-bbae-bf27c2140f10"


def body(**overrides: Any) -> dict[str, Any]:
    return referral_body(**overrides)


def pathway(*services: dict[str, Any]) -> dict[str, Any]:
    chosen = list(services) or [{"to_agency": CPIA, "service_id": "main-service"}]
    return {"services": chosen, **{k: v for k, v in body().items() if k in ("person", "legal_basis")}}


def basis(**fields: Any) -> dict[str, Any]:
    return {"legal_basis": {"basis": "consent", "captured_by": "op-1", "captured_at": "2026-11-01T10:00:00Z", **fields}}


BAD_INPUTS = [
    # Cursors and page sizes
    BadInput("cursor of 3000-deep JSON", "GET", "/referrals", 422, "validation",
             {"cursor": cursor_of_text(DEEP_JSON)}),
    BadInput("3000-deep JSON as cursor", "GET", "/referrals", 422, "validation", {"cursor": DEEP_JSON}),
    BadInput("cursor of nested JSON", "GET", "/referrals", 400, "invalid-cursor",
             {"cursor": cursor_of_text("[" * 140)}),
    BadInput("cursor with a huge number", "GET", "/referrals", 400, "invalid-cursor",
             {"cursor": cursor_of([BIG, "x"])}),
    BadInput("cursor of a number", "GET", "/referrals", 400, "invalid-cursor", {"cursor": str(BIG)}),
    BadInput("cursor out of the calendar", "GET", "/referrals", 400, "invalid-cursor",
             {"cursor": cursor_of(["0001-01-01T00:00:00+14:00", UUID])}),
    BadInput("cursor of non-ASCII digits", "GET", "/referrals", 400, "invalid-cursor", {"cursor": "²"}),
    BadInput("overlong cursor", "GET", "/referrals", 422, "validation", {"cursor": "x" * 201}),
    BadInput("huge limit", "GET", "/referrals", 422, "validation", {"limit": str(BIG)}),
    BadInput("unknown priority", "GET", "/referrals", 422, "validation", {"priority": "²"}),
    BadInput("overlong counterpart", "GET", "/referrals", 422, "validation", {"counterpart": "x" * 65}),
    BadInput("overlong service filter", "GET", "/directory/services", 422, "validation", {"language": "x" * 101}),
    # Ids in paths
    BadInput("referral id of 10**30", "GET", f"/referrals/{BIG}", 404, "referral-not-found"),
    BadInput("overlong referral id", "GET", f"/referrals/{'1' * 65}", 422, "validation"),
    BadInput("action on a referral id of 10**30", "POST", f"/referrals/{BIG}/accept", 404, "referral-not-found"),
    BadInput("redirect of a referral id of 10**30", "POST", f"/referrals/{BIG}/redirect", 404, "referral-not-found",
             json={"service_id": "main-service"}),
    BadInput("overlong action", "POST", f"/referrals/{UUID}/{'x' * 101}", 422, "validation"),
    # Bodies
    BadInput("3000-deep JSON body", "POST", "/referrals", 400, "bad-request", content=DEEP_JSON, headers=JSON),
    BadInput("3000-deep JSON action body", "POST", f"/referrals/{UUID}/accept", 400, "bad-request",
             content=DEEP_JSON, headers=JSON),
    BadInput("empty body", "POST", "/referrals", 422, "validation", content=b"", headers=JSON),
    BadInput("not UTF-8", "POST", "/referrals", 400, "bad-request", content=b"\xff\xfe{", headers=JSON),
    BadInput("a list, not an object", "POST", "/referrals", 422, "validation", json=[1]),
    BadInput("a form, not JSON", "POST", "/referrals", 422, "validation", content="a=b",
             headers={"content-type": "application/x-www-form-urlencoded"}),
    BadInput("wrong type of a field", "POST", "/referrals", 422, "validation", json=body(reason=5)),
    BadInput("previous_referral_id of 1.5 MB", "POST", "/referrals", 413, "payload-too-large",
             json=body(previous_referral_id="x" * 1_500_000)),
    BadInput("previous_referral_id of 65 characters", "POST", "/referrals", 422, "validation",
             json=body(previous_referral_id="x" * 65)),
    BadInput("previous_referral_id that is no UUID", "POST", "/referrals", 422, "validation",
             json=body(previous_referral_id="not-a-referral-id-but-36-characters")),
    BadInput("a language of 36 characters", "POST", "/referrals", 422, "validation",
             json=body(person={"given_name": "A", "family_name": "B", "languages": ["x" * 36]})),
    BadInput("consent captured before the calendar", "POST", "/referrals", 422, "validation",
             json=body(**basis(captured_at="0001-01-01T00:00:00+14:00"))),
    BadInput("consent that expires past the calendar", "POST", "/referrals", 422, "validation",
             json=body(**basis(expires_at="9999-12-31T23:59:59-14:00"))),
    BadInput("overlong Idempotency-Key", "POST", "/referrals", 422, "validation", json=body(),
             headers={"Idempotency-Key": "k" * 201}),
    BadInput("empty Idempotency-Key", "POST", "/referrals", 422, "validation", json=body(),
             headers={"Idempotency-Key": ""}),
    BadInput("body over 1 MiB", "POST", "/referrals", 413, "payload-too-large", content=b"x" * (1024 * 1024 + 1),
             headers=JSON),
    # Pathways
    BadInput("a pathway of 13 services", "POST", "/pathways", 422, "validation", json=pathway(
        *({"to_agency": CPIA, "service_id": f"s{i}"} for i in range(13)))),
    BadInput("a pathway's services not a list", "POST", "/pathways", 422, "validation",
             json={**pathway(), "services": {"to_agency": CPIA}}),
    BadInput("a pathway service with an unknown field", "POST", "/pathways", 422, "validation",
             json=pathway({"to_agency": CPIA, "service_id": "main-service", "person": "x"})),
    BadInput("a pathway service to an agency id with spaces", "POST", "/pathways", 422, "validation",
             json=pathway({"to_agency": "cpia 2", "service_id": "main-service"})),
    BadInput("a pathway naming one service twice", "POST", "/pathways", 422, "same-service-twice",
             json=pathway({"to_agency": CPIA, "service_id": "main-service"},
                          {"to_agency": CPIA, "service_id": "main-service"})),
    BadInput("a pathway id that is no id", "GET", "/pathways/" + "x" * 65, 422, "validation"),
]  # fmt: skip


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def casa(
    module_nats: NatsProcess, module_tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    """pioltello-casa's node with one referral sent to cpia2's."""
    tmp: Path = tmp_path_factory.mktemp("nodes")

    def node(agency: str) -> Any:
        settings = ReferralsSettings(
            agency_id=agency,
            agency_file=agency_file(tmp / "agencies", agency),
            nats_url=module_nats.url,
            database_url=f"sqlite+aiosqlite:///{tmp / f'{agency}.db'}",
            auth_dev_key_file=module_tokens.key_file,
            outbox_poll_seconds=0.2,
        )
        return serve(create_app(settings))

    async with node(CASA) as client, node(CPIA):
        sent = await client.post("/referrals", json=body(), headers=module_tokens.bearer(CASA))
        assert sent.status_code == 201, sent.text
        yield client


async def referrals_of(client: httpx.AsyncClient, tokens: Tokens) -> list[str]:
    """The node's referrals (their ids: the other node's answers change the rest)."""
    page = await client.get("/referrals", params={"limit": 200}, headers=tokens.bearer(CASA))
    return [item["id"] for item in page.json()["items"]]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=str)
async def test_a_hostile_input_gets_a_problem_and_changes_nothing(
    casa: httpx.AsyncClient, module_tokens: Tokens, bad: BadInput
) -> None:
    before = await referrals_of(casa, module_tokens)
    answer = await bad.send(casa, module_tokens.bearer(CASA))
    assert_problem(answer, bad.status, bad.problem)
    assert await referrals_of(casa, module_tokens) == before


async def test_a_body_over_1_mib_without_a_length_is_refused_as_it_comes(
    casa: httpx.AsyncClient, module_tokens: Tokens
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield b" " * 65536

    before = await referrals_of(casa, module_tokens)
    answer = await casa.post("/referrals", content=chunks(), headers={**module_tokens.bearer(CASA), **JSON})
    assert "content-length" not in answer.request.headers
    assert_problem(answer, 413, "payload-too-large")
    assert await referrals_of(casa, module_tokens) == before


async def test_a_token_whose_sub_is_over_200_characters_is_invalid(casa: httpx.AsyncClient, module_tokens: Tokens):
    before = await referrals_of(casa, module_tokens)
    long_sub = module_tokens.bearer(CASA, sub="x" * 201)
    assert_problem(await casa.post("/referrals", json=body(), headers=long_sub), 401, "invalid-token")
    assert_problem(await casa.get("/referrals", headers=long_sub), 401, "invalid-token")
    at_the_limit = await casa.get("/referrals", headers=module_tokens.bearer(CASA, sub="x" * 200))
    assert at_the_limit.status_code == 200
    assert await referrals_of(casa, module_tokens) == before


async def test_a_token_in_the_url_counts_for_nothing(casa: httpx.AsyncClient, module_tokens: Tokens):
    token = module_tokens.bearer(CASA)["Authorization"].removeprefix("Bearer ")
    before = await referrals_of(casa, module_tokens)
    listed = await casa.get("/referrals", params={"access_token": token})
    sent = await casa.post("/referrals", params={"access_token": token}, json=body())
    assert_problem(listed, 401, "unauthenticated")
    assert_problem(sent, 401, "unauthenticated")
    assert await referrals_of(casa, module_tokens) == before


async def test_a_referral_may_name_the_referral_it_follows(casa: httpx.AsyncClient, module_tokens: Tokens):
    """The bounds leave room for what is right: a UUID, and dates in any time zone."""
    first = (await referrals_of(casa, module_tokens))[-1]
    follow = body(previous_referral_id=first, **basis(expires_at="9999-12-29T00:00:00+14:00"))
    answer = await casa.post("/referrals", json=follow, headers=module_tokens.bearer(CASA))
    assert answer.status_code == 201, answer.text
    assert answer.json()["previous_referral_id"] == first


@pytest.mark.asyncio(loop_scope="function")
async def test_concurrent_requests_with_one_idempotency_key_create_one_referral(node_factory, tokens, database_url):
    async with node_factory(CASA, database_url=database_url) as node, node_factory(CPIA):
        earlier = await node.post("/referrals", json=body(), headers=tokens.bearer(CASA))
        assert earlier.status_code == 201, earlier.text
        headers = {**tokens.bearer(CASA), "Idempotency-Key": "one-key"}
        answers = await asyncio.gather(*(node.post("/referrals", json=body(), headers=headers) for _ in range(6)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(201) == 1, [a.text for a in answers]
        created = next(a.json()["id"] for a in answers if a.status_code == 201)
        for answer in answers:
            if answer.status_code == 200:
                assert answer.json()["id"] == created  # replayed, once committed
            elif answer.status_code != 201:
                assert_problem(answer, 409, "idempotency-key-in-use")
        listed = await node.get("/referrals", headers=tokens.bearer(CASA))
        assert [r["id"] for r in listed.json()["items"]] == [created, earlier.json()["id"]]
        # Its one requested event reaches cpia2: nothing else was queued and rolled back into the stream.
        await eventually(lambda: _history_of(node, tokens, created, "received"), timeout=15)


async def _history_of(node: httpx.AsyncClient, tokens: Tokens, referral_id: str, event: str) -> bool:
    found = await node.get(f"/referrals/{referral_id}", headers=tokens.bearer(CASA))
    return event in [h["event"] for h in found.json()["history"]]


@pytest.mark.asyncio(loop_scope="function")
async def test_concurrent_first_referrals_of_a_new_node_are_all_created(node_factory, tokens, database_url):
    async with node_factory(CASA, database_url=database_url) as node, node_factory(CPIA):
        answers = await asyncio.gather(
            *(node.post("/referrals", json=body(), headers=tokens.bearer(CASA)) for _ in range(6))
        )
        assert [a.status_code for a in answers] == [201] * 6
