"""SQLite's calls that wait for nothing run on the event loop's thread: taking a free write
lock, the statements and commit of a transaction holding it, the reads of a read transaction
declared short. Waiting for a lock another connection holds, other reads and the checkpoints of
the log into the file go to the connection's thread, so they never stop the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common.db import Database
from crocevia_common.sqlite_driver import CHECKPOINT_BYTES, InlineConnection, inline_connection
from tests.kit.disk import SmallDisk, mountable


async def _threads_of(db: Database) -> tuple[int, int]:
    """The threads a read, and a statement in a write transaction, ran on."""
    async with db.snapshot() as session:
        reading = (await session.execute(text("SELECT thread_of()"))).scalar_one()
    async with db.transaction() as session:
        writing = (await session.execute(text("SELECT thread_of()"))).scalar_one()
    return reading, writing


@asynccontextmanager
async def _telling_threads(path: Path) -> AsyncIterator[Database]:
    """A database whose connection has ``thread_of()``: the thread a statement runs on."""
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.engine.connect() as conn:  # the engine's only connection: it is reused
            raw = await conn.get_raw_connection()
            await raw.driver_connection.create_function("thread_of", 0, threading.get_ident)  # type: ignore[union-attr]
        yield db
    finally:
        await db.dispose()


async def test_a_write_transaction_runs_on_the_loops_thread_and_a_read_does_not(tmp_path: Path) -> None:
    async with _telling_threads(tmp_path / "x.db") as db:
        reading, writing = await _threads_of(db)
    assert writing == threading.get_ident()
    assert reading != threading.get_ident()


async def test_a_short_read_runs_on_the_loops_thread_and_leaves_the_connection_as_it_was(tmp_path: Path) -> None:
    async with _telling_threads(tmp_path / "x.db") as db:
        async with db.snapshot(short=True) as session:
            short = (await session.execute(text("SELECT thread_of()"))).scalar_one()
        with contextlib.suppress(RuntimeError):
            async with db.snapshot(short=True) as session:  # one that fails still resets it
                raise RuntimeError
        reading, _ = await _threads_of(db)  # a plain read after them, on the same connection
    assert short == threading.get_ident()
    assert reading != threading.get_ident()


async def test_waiting_for_the_write_lock_of_another_connection_leaves_the_event_loop_free(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    order: list[str] = []
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another connection holds the write lock

        async def write() -> None:
            async with db.transaction() as session:
                order.append("began")
                await session.execute(text("INSERT INTO t VALUES (1)"))

        writing = asyncio.create_task(write())
        await asyncio.sleep(0.3)  # the loop runs while the writer waits for the lock
        order.append("released")
        holder.execute("COMMIT")
        holder.close()
        await writing
        async with db.connect() as session:
            rows = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
            handed_off = (await _connection(session)).handed_off
    finally:
        await db.dispose()
    assert (order, rows) == (["released", "began"], 1)
    assert handed_off >= 1  # the lock, held elsewhere, was waited for on the connection's thread


async def _connection(session: AsyncConnection) -> InlineConnection:
    connection = await inline_connection(session)
    assert connection is not None
    return connection


async def test_taking_a_free_write_lock_and_committing_need_no_hand_off(tmp_path: Path) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (n INTEGER)"))
            connection = await _connection(session)
        before = connection.handed_off
        for n in range(20):
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (:n)"), {"n": n})
                assert await _connection(session) is connection  # the engine's only connection
        async with db.snapshot(short=True) as session:
            total = (await session.execute(text("SELECT count(*), sum(n) FROM t"))).one()
        handed_off = connection.handed_off - before
    finally:
        await db.dispose()
    assert (handed_off, tuple(total)) == (0, (20, sum(range(20))))


async def test_the_log_is_checkpointed_into_the_file_by_its_size_on_the_connections_thread(tmp_path: Path) -> None:
    path, log = tmp_path / "x.db", tmp_path / "x.db-wal"
    db = Database(f"sqlite+aiosqlite:///{path}")
    blob = {"b": bytes(130_000)}  # about 32 pages

    async def insert(rows: int) -> None:
        async with db.transaction() as session:
            await session.execute(text("INSERT INTO t VALUES (:b)"), [blob] * rows)

    try:
        async with db.transaction() as session:
            await session.execute(text("CREATE TABLE t (b BLOB)"))
            connection = await _connection(session)
        before, file_size = connection.handed_off, path.stat().st_size
        # About 1,600 pages of log: more than SQLite's own automatic checkpoint lets grow
        # (1,000 pages), less than the connection's checkpoint waits for.
        for _ in range(5):
            await insert(10)
        unchanged, waited = path.stat().st_size, connection.handed_off - before
        await insert(20)  # the log now past CHECKPOINT_BYTES: checkpointed after the commit
        checkpointed = path.stat().st_size
        for _ in range(3):  # the log starts over, cut back to CHECKPOINT_BYTES
            await insert(10)
        log_size, checkpoints = log.stat().st_size, connection.handed_off - before
        async with db.snapshot(short=True) as session:
            rows = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
    finally:
        await db.dispose()
    assert (unchanged, waited) == (file_size, 0)
    assert checkpointed > 70 * 130_000  # the log's pages copied into the file
    assert log_size <= CHECKPOINT_BYTES
    assert (checkpoints, rows) == (1, 100)


async def test_a_checkpoint_the_disk_refuses_leaves_the_commit_before_it_standing(tmp_path: Path) -> None:
    if (why := mountable()) is not None:
        pytest.skip(f"no small disk to fill: {why}")
    disk = SmallDisk(tmp_path / "disk", megabytes=16).mount()
    try:
        db = Database(f"sqlite+aiosqlite:///{disk.path / 'x.db'}")
        try:
            async with db.transaction() as session:
                await session.execute(text("CREATE TABLE t (b BLOB)"))
                connection = await _connection(session)
            before = connection.handed_off
            # About 9 MiB of log, past CHECKPOINT_BYTES: copying it into the file would need as
            # much again, more than the 16 MiB disk has left.
            async with db.transaction() as session:
                await session.execute(text("INSERT INTO t VALUES (:b)"), [{"b": bytes(130_000)}] * 70)
            checkpoints = connection.handed_off - before
            async with db.snapshot(short=True) as session:
                rows = (await session.execute(text("SELECT count(*) FROM t"))).scalar_one()
        finally:
            await db.dispose()
    finally:
        disk.unmount()
    assert (checkpoints, rows) == (1, 70)
