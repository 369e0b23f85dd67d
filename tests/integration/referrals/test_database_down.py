"""The database goes away under a running node (PostgreSQL reached through a link this test
cuts, as a stopped server or a broken network does): the API answers 503 problem+json with
Retry-After, never a 500, and answers again once the database is back; a request refused
meanwhile left nothing behind."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.engine import make_url

from tests.integration.referrals.conftest import referral_body
from tests.kit.hostile import assert_problem

pytestmark = pytest.mark.postgres


class Link:
    """A TCP relay to the database that can be cut (every connection closed, new ones
    refused) and restored, on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.open: set[asyncio.StreamWriter] = set()

    async def up(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.open):
            writer.close()
        await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self.target)
        self.open |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.open -= {writer, up_writer}


@pytest.fixture
async def link(own_database: str) -> AsyncIterator[tuple[Link, str]]:
    url = make_url(own_database)
    relay = Link(url.host or "127.0.0.1", url.port or 5432)
    await relay.up()
    yield relay, url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    with contextlib.suppress(Exception):
        await relay.cut()


async def test_a_node_whose_database_is_unreachable_answers_503_then_recovers(node_factory, tokens, link):
    relay, url = link
    staff = tokens.bearer("pioltello-casa")
    async with node_factory("pioltello-casa", database_url=url) as casa, node_factory("cpia2"):
        made = await casa.post("/referrals", json=referral_body(), headers=staff)
        assert made.status_code == 201
        await relay.cut()
        listed = await casa.get("/referrals", headers=staff)
        assert_problem(listed, 503, "database-unavailable")
        assert listed.headers["retry-after"] == "5"
        assert_problem(await casa.post("/referrals", json=referral_body(), headers=staff), 503, "database-unavailable")
        await relay.up()
        again = await casa.get("/referrals", headers=staff)
        assert again.status_code == 200, again.text
        assert [r["id"] for r in again.json()["items"]] == [made.json()["id"]]  # the refused one made nothing
