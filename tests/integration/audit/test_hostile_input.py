"""Hostile input to the audit's HTTP API and pages: each gets a 4xx (problem+json from the
API) with a stable type, and none changes the trail."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio

from crocevia_audit.bootstrap import create_app
from crocevia_audit.settings import AuditSettings
from crocevia_common.web.session_cookie import SESSION_COOKIE
from tests.kit.hostile import BIG, DEEP_JSON, BadInput, assert_problem, cursor_of, cursor_of_text
from tests.kit.nats import NatsProcess
from tests.kit.services import Tokens, serve

pytestmark = pytest.mark.asyncio(loop_scope="module")

BEFORE_THE_CALENDAR = "0001-01-01T00:00:00+14:00"
AFTER_THE_CALENDAR = "9999-12-31T23:59:59-14:00"

BAD_INPUTS = [
    BadInput("cursor of 3000-deep JSON", "GET", "/trail", 422, "validation", {"cursor": cursor_of_text(DEEP_JSON)}),
    BadInput("cursor of nested JSON", "GET", "/trail", 400, "invalid-cursor", {"cursor": cursor_of_text("[" * 140)}),
    BadInput("cursor at position 10**30", "GET", "/trail", 400, "invalid-cursor",
             {"cursor": cursor_of({"p": BIG, "o": "newest"})}),
    BadInput("cursor at a negative position", "GET", "/trail", 400, "invalid-cursor",
             {"cursor": cursor_of({"p": -1, "o": "newest"})}),
    BadInput("cursor of non-ASCII digits", "GET", "/trail", 400, "invalid-cursor", {"cursor": "²"}),
    BadInput("huge limit", "GET", "/trail", 422, "validation", {"limit": str(BIG)}),
    BadInput("overlong referral id", "GET", "/trail", 422, "validation", {"referral_id": "x" * 65}),
    BadInput("since before the calendar", "GET", "/trail", 422, "validation", {"since": BEFORE_THE_CALENDAR}),
    BadInput("until after the calendar", "GET", "/trail", 422, "validation", {"until": AFTER_THE_CALENDAR}),
    BadInput("since of non-ASCII digits", "GET", "/trail", 422, "validation", {"since": "²"}),
    BadInput("export since before the calendar", "GET", "/trail/export", 422, "validation",
             {"since": BEFORE_THE_CALENDAR}),
    BadInput("indicators as of before the calendar", "GET", "/indicators", 422, "validation",
             {"as_of": BEFORE_THE_CALENDAR}),
    BadInput("indicators since after the calendar", "GET", "/indicators", 422, "validation",
             {"since": AFTER_THE_CALENDAR}),
    BadInput("overlong grouping", "GET", "/indicators", 422, "validation", {"group_by": "x" * 41}),
    BadInput("too many groupings", "GET", "/indicators", 422, "validation", {"group_by": ["pair"] * 5}),
    BadInput("checkpoint of size 10**30", "GET", "/checkpoint", 422, "validation", {"size": str(BIG)}),
    BadInput("checkpoint of size ²", "GET", "/checkpoint", 422, "validation", {"size": "²"}),
    BadInput("consistency from 10**30", "GET", "/proofs/consistency", 422, "validation", {"from": str(BIG), "to": 1}),
    BadInput("consistency to 10**30", "GET", "/proofs/consistency", 422, "validation", {"from": 1, "to": str(BIG)}),
    BadInput("inclusion in a tree of 10**30", "GET", "/proofs/inclusion", 422, "validation",
             {"event_id": "e", "tree_size": str(BIG)}),
    BadInput("inclusion of an overlong event id", "GET", "/proofs/inclusion", 422, "validation",
             {"event_id": "x" * 37}),
    BadInput("overlong source", "GET", "/gaps", 422, "validation", {"source": "x" * 101}),
    BadInput("unknown gap status", "GET", "/gaps", 422, "validation", {"status": "²"}),
    BadInput("huge anomalies limit", "GET", "/anomalies", 422, "validation", {"limit": str(BIG)}),
    BadInput("inclusion for a page in a tree of 10**30", "GET", "/ui/proofs/inclusion", 422, "validation",
             {"event_id": "e", "tree_size": str(BIG)}),
]  # fmt: skip

# Pages answer HTML; what matters is a 4xx (or the page without the unusable filter), never a 500.
BAD_PAGE_INPUTS = [
    ("/ui/trail", {"cursor": cursor_of({"p": BIG, "o": "newest"})}, 422),
    ("/ui/trail", {"since": "0001-01-01", "until": "9999-12-31"}, 422),
    ("/ui/trail/export", {"until": "9999-12-31"}, 422),
    ("/ui/indicators", {"since": "0001-01-01", "until": "9999-12-31"}, 200),
    ("/ui/integrity", {"event_id": "x" * 37}, 422),
]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def audit(
    module_nats: NatsProcess, module_tokens: Tokens, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[httpx.AsyncClient]:
    tmp = tmp_path_factory.mktemp("audit")
    settings = AuditSettings(
        nats_url=module_nats.url,
        database_url=f"sqlite+aiosqlite:///{tmp / 'audit.db'}",
        auth_dev_key_file=module_tokens.key_file,
        checkpoint_every_seconds=0.5,
    )
    async with serve(create_app(settings)) as client:
        yield client


async def trail_of(client: httpx.AsyncClient, tokens: Tokens) -> list[Any]:
    auditor = tokens.bearer("cpia2", "auditor")
    answers = [await client.get(p, headers=auditor) for p in ("/trail", "/anomalies", "/gaps")]
    assert [a.status_code for a in answers] == [200] * 3
    return [a.json() for a in answers]


@pytest.mark.parametrize("bad", BAD_INPUTS, ids=str)
async def test_a_hostile_input_gets_a_problem_and_changes_nothing(
    audit: httpx.AsyncClient, module_tokens: Tokens, bad: BadInput
) -> None:
    before = await trail_of(audit, module_tokens)
    auditor = module_tokens.bearer("cpia2", "auditor")
    cookie = {"Cookie": f"{SESSION_COOKIE}={module_tokens.session('cpia2', 'auditor')}"}
    answer = await bad.send(audit, {**auditor, **cookie})
    assert_problem(answer, bad.status, bad.problem)
    assert await trail_of(audit, module_tokens) == before


@pytest.mark.parametrize(("path", "params", "status"), BAD_PAGE_INPUTS)
async def test_a_hostile_filter_on_a_page_is_refused_or_left_out(
    audit: httpx.AsyncClient, module_tokens: Tokens, path: str, params: dict[str, str], status: int
) -> None:
    session = module_tokens.session("cpia2", "auditor")
    answer = await audit.get(path, params=params, headers={"Cookie": f"{SESSION_COOKIE}={session}"})
    assert answer.status_code == status, answer.text[:300]


async def test_a_token_in_the_url_counts_for_nothing(audit: httpx.AsyncClient, module_tokens: Tokens) -> None:
    token = module_tokens.bearer("cpia2", "auditor")["Authorization"].removeprefix("Bearer ")
    for path in ("/trail", "/verify", "/indicators", "/anomalies"):
        assert_problem(await audit.get(path, params={"access_token": token}), 401, "unauthenticated")
