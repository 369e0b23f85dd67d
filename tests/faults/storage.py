"""The faults of a node's database that is not killed: stalled (its writes held back by
another connection for some seconds) and full (its disk filled to the last byte). A request
sent to the node meanwhile must be answered (late) or refused with a 503 problem, never a
500, and be made once when sent again with its ``Idempotency-Key`` once the database is
back; the node's consumer holds its messages and catches up."""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url

from bench.net.client import Refused
from crocevia.devnet import Network
from tests.faults.load import Load

# What a stalled or full database may answer: later, or one of these.
EXPECTED = {"503 /problems/database-unavailable", "503 /problems/storage-full"}


def database_url(network: Network, name: str) -> str:
    """The database service ``name`` runs on, as its settings say."""
    return network.service_env(name, 0, {})["CROCEVIA_DATABASE_URL"]


@asynccontextmanager
async def stalled(url: str) -> AsyncIterator[str]:
    """The database of ``url`` stalled while inside: on SQLite, its write lock held by another
    connection (``BEGIN IMMEDIATE``: the service's writers wait, then give up after its busy
    timeout); on PostgreSQL, every table of the service locked ``ACCESS EXCLUSIVE`` by another
    session (its reads and writes wait, as behind a stuck migration or a long maintenance
    lock). What was held, in words."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        conn = sqlite3.connect(parsed.database or "", timeout=30.0, isolation_level=None, check_same_thread=False)
        try:
            await asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE")
            try:
                yield "SQLite's write lock held by another connection"
            finally:
                conn.execute("ROLLBACK")
        finally:
            conn.close()
        return
    conn = await asyncpg.connect(parsed.set(drivername="postgresql").render_as_string(hide_password=False))
    try:
        rows = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        tables = ", ".join(f'"{r["tablename"]}"' for r in rows)
        # NOWAIT, tried again between the service's transactions: waiting for one table while
        # holding others would deadlock with a transaction of the service that holds the one
        # and wants the others.
        for _ in range(600):
            transaction = conn.transaction()
            await transaction.start()
            try:
                await conn.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE NOWAIT")
            except asyncpg.LockNotAvailableError:
                await transaction.rollback()
                await asyncio.sleep(0.05)
                continue
            try:
                yield f"its {len(rows)} tables locked ACCESS EXCLUSIVE by another session"
            finally:
                await transaction.rollback()
            return
        raise TimeoutError(f"the tables of {parsed.database} could not be locked within 30 s")
    finally:
        await conn.close()


@dataclass
class Probe:
    """A referral sent to a node while its database is in trouble: what it first answered and
    after how long; sent again (same key) by the load once the trouble is over."""

    sender: str
    receiver: str
    key: str
    task: asyncio.Task[tuple[str, float]]

    @classmethod
    def send(cls, load: Load, sender: str, receiver: str) -> Probe:
        key = str(uuid.uuid4())
        return cls(sender, receiver, key, asyncio.create_task(_first_answer(load, sender, receiver, key)))

    async def settle(self, load: Load) -> tuple[str, float]:
        """Wait for the first answer (and how long it took), then have the load make the
        referral under the same key if that answer was not it."""
        answer, seconds = await self.task
        if answer != "201":
            await load.one(self.sender, self.receiver, self.key)
        return answer, seconds


async def _first_answer(load: Load, sender: str, receiver: str, key: str) -> tuple[str, float]:
    began = time.monotonic()
    try:
        sent = await load.ctx.client.create(sender, receiver, key)
    except Refused as exc:
        return exc.answer, time.monotonic() - began
    # Made at once: the load must not make it again, and the verdict must count it.
    load.ctx.sent.append(sent)
    load.keys[sent.id] = key
    return "201", time.monotonic() - began


def server_errors(refused: Counter[str]) -> int:
    """Answers of the load that are a server's error other than an expected 503."""
    return sum(n for answer, n in refused.items() if answer[:1] == "5" and answer not in EXPECTED)


def answers_text(refused: Counter[str]) -> str:
    return ", ".join(f"{n} x {answer}" for answer, n in sorted(refused.items())) or "none refused"
