"""The bearer token travels in the ``Authorization`` header or the pages' cookie, never in a
URL: a token put in one counts for nothing, and lands in no access log line and no span.
The bell relays the notifications' stream with the token in a header."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from crocevia_common.web.session_cookie import SESSION_COOKIE
from crocevia_notifications.bootstrap import create_app
from tests.kit.nats import free_port
from tests.kit.services import listening
from tests.kit.tracing import span_exporter


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def access_log() -> Iterator[Lines]:
    """The lines uvicorn's access log writes while the test runs."""
    logger = logging.getLogger("uvicorn.access")
    lines, level = Lines(), logger.level
    logger.addHandler(lines)
    logger.setLevel(logging.INFO)
    try:
        yield lines
    finally:
        logger.removeHandler(lines)
        logger.setLevel(level)


async def first_unread(response: httpx.Response) -> str:
    event = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event in ("unread", "off"):
            return f"{event} {line.removeprefix('data: ')}"
    raise AssertionError("the stream ended without a count")


async def test_a_token_in_a_url_counts_for_nothing_and_is_neither_logged_nor_traced(
    notifications_factory, tokens, monkeypatch, access_log
):
    exporter = span_exporter()
    exporter.clear()
    port = free_port()
    monkeypatch.setenv("CROCEVIA_NOTIFICATIONS_URL", f"http://127.0.0.1:{port}")  # the bell relays to it
    token = tokens.bearer("cpia2", sub="operator-cpia2")["Authorization"].removeprefix("Bearer ")
    session = tokens.session("cpia2", sub="operator-cpia2")
    in_header = {"Authorization": f"Bearer {token}"}
    in_url = {"access_token": token}
    async with (
        listening(create_app(notifications_factory.settings()), port) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as client,
    ):
        alone = await client.get("/inbox", params=in_url)
        beside_the_header = await client.get("/inbox", params=in_url, headers=in_header)
        page = await client.get("/ui/inbox", params={**in_url, "unread": "true"})
        async with client.stream("GET", "/ui/bell/stream", headers={"Cookie": f"{SESSION_COOKIE}={session}"}) as bell:
            count = await asyncio.wait_for(first_unread(bell), 10)

    assert (alone.status_code, alone.json()["type"]) == (401, "/problems/unauthenticated")
    assert beside_the_header.status_code == 200
    assert page.status_code == 303
    assert parse_qs(urlsplit(page.headers["location"]).query)["next"] == ["/ui/inbox?unread=true"]
    assert count == "unread 0", "the bell relayed the inbox with the token in a header"

    assert any("/inbox?access_token=REDACTED" in line for line in access_log.lines), access_log.lines
    assert any("/ui/bell/stream" in line for line in access_log.lines)
    assert not [line for line in access_log.lines if token in line]

    spans = exporter.get_finished_spans()
    urls = [str(s.attributes.get("http.url", s.attributes.get("url.full", ""))) for s in spans if s.attributes]
    assert any("access_token=REDACTED" in u for u in urls), urls
    assert any(u.endswith("/inbox/stream") for u in urls), "the bell's relay is traced too"
    leaking = [(s.name, k) for s in spans for k, v in (s.attributes or {}).items() if token in str(v)]
    assert leaking == []
