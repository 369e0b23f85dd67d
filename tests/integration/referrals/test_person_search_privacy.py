"""A search for a person stays at the node: the words searched land in no log line of the
node (its access log included) and no span, whether asked of the API or of the pages, and
even on the way through the sign-in."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from crocevia_common.web.session_cookie import SESSION_COOKIE
from tests.integration.referrals.conftest import referral_body
from tests.kit.nats import free_port
from tests.kit.services import listening
from tests.kit.tracing import span_exporter

CASA, CPIA = "pioltello-casa", "cpia2"
SEARCHED = "Zanardelli"
# The test's own HTTP client logs the URLs it asks; what it logs is not the node's.
CLIENT_LOGGERS = ("httpx", "httpcore")


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith(CLIENT_LOGGERS):
            self.lines.append(f"{record.name}: {record.getMessage()} {record.exc_text or ''}")


@pytest.fixture
def every_log_line() -> Iterator[Records]:
    """Every record any logger of the process writes while the test runs, DEBUG up."""
    root, access = logging.getLogger(), logging.getLogger("uvicorn.access")
    records, levels = Records(), (root.level, access.level)
    root.addHandler(records)
    # uvicorn's own logging setup (another test may have run it in this process) stops its
    # access log from propagating to the root: listen to it directly then.
    direct = not access.propagate
    if direct:
        access.addHandler(records)
    root.setLevel(logging.DEBUG)
    access.setLevel(logging.INFO)
    try:
        yield records
    finally:
        root.removeHandler(records)
        if direct:
            access.removeHandler(records)
        root.setLevel(levels[0])
        access.setLevel(levels[1])


async def test_the_words_of_a_person_search_are_neither_logged_nor_traced(node_factory, tokens, every_log_line):
    exporter = span_exporter()
    exporter.clear()
    node_factory(CASA)  # made, not started: uvicorn runs it below
    app = node_factory.apps[CASA]
    body = referral_body(person={"given_name": "Lucia", "family_name": SEARCHED})
    session = {"Cookie": f"{SESSION_COOKIE}={tokens.session(CASA)}"}
    async with (
        node_factory(CPIA),  # the receiver, for the referral to go somewhere
        listening(app, free_port()) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        created = await client.post("/referrals", json=body, headers=tokens.bearer(CASA))
        assert created.status_code == 201
        api = await client.get("/referrals", params={"person": SEARCHED.lower()}, headers=tokens.bearer(CASA))
        page = await client.get("/ui/referrals", params={"person": SEARCHED, "include_closed": "true"}, headers=session)
        client.cookies.clear()  # the page renewed the session in a cookie
        signed_out = await client.get("/ui/referrals", params={"person": SEARCHED})
        too_long = await client.get("/referrals", params={"person": SEARCHED * 30}, headers=tokens.bearer(CASA))

    assert [item["id"] for item in api.json()["items"]] == [created.json()["id"]]
    assert page.status_code == 200 and SEARCHED in page.text, "the page shows what it found"
    assert signed_out.status_code == 303 and "person" in signed_out.headers["location"]
    assert too_long.status_code == 422 and SEARCHED not in too_long.text

    lines = every_log_line.lines
    assert any("/referrals?person=REDACTED" in line for line in lines), lines
    assert any("/ui/referrals?person=REDACTED" in line for line in lines), lines
    assert [line for line in lines if SEARCHED.lower() in line.lower()] == []
    spans = exporter.get_finished_spans()
    assert any("person=REDACTED" in str(v) for s in spans for v in (s.attributes or {}).values())
    attributes = [(s.name, k, str(v).lower()) for s in spans for k, v in (s.attributes or {}).items()]
    leaking = [(name, key) for name, key, value in attributes if SEARCHED.lower() in value]
    assert leaking == []
