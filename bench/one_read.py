"""A read of one statement, with and without a transaction around it: the outbox relay's read
of its next batch and a node's look-up of a request by its Idempotency-Key are each one
statement, which sees one moment by itself. In a snapshot (``Database.snapshot(short=True)``)
it costs PostgreSQL's ``BEGIN ISOLATION LEVEL REPEATABLE READ`` and ``ROLLBACK`` round trips,
and SQLite's ``BEGIN`` through SQLAlchemy; ``Database.one_read`` begins none.

    uv run python -m bench one_read [--reads N] [--runs N] [--postgres-url URL]

A node's database (its migrations) whose outbox holds 1,000 published events and one not
published yet; each read is the relay's (``outbox.py`` ``_unpublished``, by its index), as
on PostgreSQL before each event a node publishes. Beside them, the same read in a write
transaction (``Database.transaction``: what a transaction of one statement costs), and on
PostgreSQL in a transaction on asyncpg alone (its own connection, prepared once: the round
trips without SQLAlchemy's pool, transaction and statements). Runs alternate between the
ways; CPU is this process's, wall is per read (on PostgreSQL, the server's work and the
round trips included). Each run adds its section to ``bench/results/one_read.txt``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
from sqlalchemy import update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection

from bench import add_section
from bench.net.launch import DEFAULT_POSTGRES, on_each_database
from crocevia_common.db import Database
from crocevia_common.messaging.outbox import _unpublished, enqueue
from crocevia_common.statements import execute
from crocevia_referrals.adapters.tables import messaging
from crocevia_referrals.bootstrap import MIGRATIONS

EVENTS = 1000
BATCH = 64  # the relay's batch
WAYS: dict[str, Callable[[Database], contextlib.AbstractAsyncContextManager[AsyncConnection]]] = {
    "one_read (no transaction)": lambda db: db.one_read(),
    "snapshot(short=True)": lambda db: db.snapshot(short=True),
    "transaction()": lambda db: db.transaction(),
}
RAW = "asyncpg alone (BEGIN, the read, COMMIT)"


async def _reads(db: Database, way: str, reads: int) -> tuple[float, float]:
    """CPU and wall milliseconds per read."""
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(reads):
        async with WAYS[way](db) as session:
            found = await execute(session, _unpublished(messaging.outbox, BATCH), {})
        assert [row["event_id"] for row in found.rows] == ["waiting"], i
    return (time.process_time() - cpu) * 1000 / reads, (time.perf_counter() - wall) * 1000 / reads


async def measure(url: str, reads: int, runs: int) -> dict[str, list[tuple[float, float]]]:
    db = Database(url)
    try:
        await db.migrate(MIGRATIONS)
        async with db.transaction() as session:
            for i in range(EVENTS):
                await enqueue(session, messaging, "referral.v1.a.b.requested", f"event-{i}", b"{}")
            await session.execute(update(messaging.outbox).values(published_at=datetime.now(UTC)))
            await enqueue(session, messaging, "referral.v1.a.b.requested", "waiting", b"{}")
        raw = None if db.is_sqlite else await _raw_reads(url)
        ways: dict[str, Callable[[int], Awaitable[tuple[float, float]]]] = {
            way: functools.partial(_reads, db, way) for way in WAYS
        }
        if raw is not None:
            ways[RAW] = raw
        for way in ways.values():  # statements prepared, connections opened
            await way(50)
        found: dict[str, list[tuple[float, float]]] = {way: [] for way in ways}
        for _ in range(runs):
            for name, way in ways.items():
                found[name].append(await way(reads))
        return found
    finally:
        await db.dispose()


async def _raw_reads(url: str) -> Callable[[int], Awaitable[tuple[float, float]]]:
    """The same read in a transaction on a connection of asyncpg's own, prepared once: what
    PostgreSQL's round trips cost without SQLAlchemy's pool, transaction and statements."""
    sql = str(
        _unpublished(messaging.outbox, BATCH).compile(
            dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}
        )
    )
    connection = await asyncpg.connect(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))
    prepared = await connection.prepare(sql)

    async def reads(count: int) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(count):
            async with connection.transaction():
                found = await prepared.fetch()
            assert [row["event_id"] for row in found] == ["waiting"], i
        return (time.process_time() - cpu) * 1000 / count, (time.perf_counter() - wall) * 1000 / count

    return reads


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench one_read")
    parser.add_argument("--reads", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES, help="the server to make a database on")
    args = parser.parse_args(argv)
    lines = [f"{args.reads} reads of the outbox by the relay, {args.runs} alternated runs; medians per read"]
    with tempfile.TemporaryDirectory() as work:
        measured = on_each_database(
            "referrals", Path(work), args.postgres_url, lambda url: asyncio.run(measure(url, args.reads, args.runs))
        )
        for name, found in measured:
            if found is None:
                lines.append(f"{name}: not measured (no server answered)")
                continue
            for way, runs in found.items():
                cpu, wall = statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)
                lines.append(f"{name:<11} {way:<40} CPU {cpu:.3f} ms   wall {wall:.3f} ms")
    report = "\n".join(lines) + "\n"
    print(report, end="")
    add_section("one_read", report)
