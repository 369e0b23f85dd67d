"""``statements.execute`` answers and writes exactly what SQLAlchemy would: on SQLite inside a
transaction that holds the write lock (or a short read), and on PostgreSQL inside a
transaction, it runs on the driver's connection itself, elsewhere through SQLAlchemy; the same
values are stored, the same rows and types come back, the same errors are raised (without the
values), and statement listeners see it."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    event,
    exists,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from crocevia_common import statements
from crocevia_common.db import Blob, Database, UtcDateTime, unavailable, upsert_in
from crocevia_common.sqlite_driver import inline_connection
from crocevia_common.statements import execute

metadata = MetaData()
things = Table(
    "things",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("at", UtcDateTime(), nullable=True),
    Column("details", JSON, nullable=False),
    Column("payload", Blob, nullable=True),
    Column("open", Boolean, nullable=False),
    Column("steps", Integer, nullable=False, default=0),  # a scalar default SQLAlchemy fills in
    Column("search", String(200), nullable=True),
)
counters = Table("counters", metadata, Column("name", String(32), primary_key=True), Column("value", Integer))

INSERT = insert(things)
UPDATE = update(things).where(things.c.id == bindparam("thing"))
# Constants the statement holds (an IN list, a value), a parameter list, a LIKE with its escape.
READ = (
    select(things, exists().where(things.c.kind == "later").label("any_later"))
    .where(
        things.c.id.in_(bindparam("ids", expanding=True)),
        things.c.kind.in_(["first", "second"]),
        things.c.open == True,  # noqa: E712
        things.c.search.startswith(bindparam("start"), escape="/"),
    )
    .order_by(things.c.id)
)
CLAIM = insert(things).returning(things.c.id)  # SQLite and PostgreSQL: ON CONFLICT below
ROME = timezone(timedelta(hours=1))
DETAILS = {"codes": ["a", "b"], "n": 3, "text": "è"}


def row(thing: str, kind: str = "first", **changes: Any) -> dict[str, Any]:
    values = {
        "id": thing,
        "kind": kind,
        "at": datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=ROME),
        "details": DETAILS,
        "payload": b"\x00\x01sealed",
        "open": True,
        "search": "rossi/maria_100%",
    }
    return {**values, **changes}


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    async with database.engine.begin() as session:
        await session.run_sync(metadata.drop_all)
        await session.run_sync(metadata.create_all)
    yield database
    async with database.engine.begin() as session:
        await session.run_sync(metadata.drop_all)
    await database.dispose()


async def ran_here(session: AsyncConnection) -> int:
    """How many statements ran on the driver's connection itself so far."""
    if session.dialect.name != "sqlite":
        return statements.asyncpg_runs
    driver = await inline_connection(session)
    return driver.ran_here if driver is not None else 0


async def stored(db: Database) -> dict[str, tuple[Any, ...]]:
    """Each thing's stored values as the database holds them (no type applied), by id."""
    async with db.connect() as session:
        found = await session.exec_driver_sql("SELECT id, kind, at, details, payload, open, steps, search FROM things")
        return {r[0]: tuple(r[1:]) for r in found.all()}


async def test_a_row_written_directly_is_stored_as_sqlalchemy_stores_it(db: Database) -> None:
    async with db.transaction() as session:
        before = await ran_here(session)
        one = await execute(session, INSERT, row("direct"))
        await session.execute(INSERT, row("through-sqlalchemy"))
        after = await ran_here(session)
        await execute(session, UPDATE, {"thing": "direct", "kind": "second", "at": None})
        await session.execute(UPDATE, {"thing": "through-sqlalchemy", "kind": "second", "at": None})
    values = await stored(db)
    assert values["direct"] == values["through-sqlalchemy"]
    assert values["direct"][0] == "second" and values["direct"][5] == 0  # the default filled in
    assert one.inserted_key == (1,)
    assert after - before == 1


async def test_rows_read_directly_are_the_rows_sqlalchemy_reads(db: Database) -> None:
    async with db.transaction() as session:
        await execute(session, INSERT, [row(f"t{i}", kind="first" if i % 2 else "second") for i in range(6)])
        await execute(session, INSERT, row("closed", open=False))
        await execute(session, INSERT, row("other", search="rossi/mario"))
    params = {"ids": ["t1", "t2", "t4", "closed", "other", "absent"], "start": "rossi//maria/_"}
    async with db.transaction() as session:
        before = await ran_here(session)
        direct = (await execute(session, READ, params)).mappings()
        middle = await ran_here(session)
        through = [dict(r) for r in (await session.execute(READ, params)).mappings()]
    assert direct == through
    assert [r["id"] for r in direct] == ["t1", "t2", "t4"]
    assert direct[0]["at"] == datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)
    assert direct[0]["details"] == DETAILS and direct[0]["payload"] == b"\x00\x01sealed"
    assert direct[0]["open"] is True and direct[0]["any_later"] is False
    assert middle - before == 1  # PostgreSQL: each list one array parameter (``= ANY ($n)``)
    async with db.transaction() as session:  # an empty list: SQLite, SQLAlchemy's own rendering
        before = await ran_here(session)
        assert (await execute(session, READ, {**params, "ids": []})).mappings() == []
        assert await ran_here(session) - before == (0 if db.is_sqlite else 1)
    not_in = select(things.c.id).where(things.c.id.not_in(bindparam("ids", expanding=True))).order_by(things.c.id)
    async with db.transaction() as session:
        for ids in ([], ["t1", "t2", "t3", "t4", "t5", "closed"]):
            direct = (await execute(session, not_in, {"ids": ids})).scalars()
            assert direct == (await session.execute(not_in, {"ids": ids})).scalars().all()
    assert direct == ["other", "t0"]


async def test_a_read_without_parameters_runs_directly_and_a_write_without_them_does_not(db: Database) -> None:
    count = select(func.count(things.c.id).label("n"), func.max(things.c.steps).label("most"))
    async with db.transaction() as session:
        await execute(session, INSERT, [row(f"t{i}", steps=i) for i in range(3)])
        before = await ran_here(session)
        direct = (await execute(session, count, {})).mappings()
        middle = await ran_here(session)
        through = [dict(r) for r in (await session.execute(count)).mappings()]
        await execute(session, insert(things).values(**row("x")), {})
        after = await ran_here(session)
    assert direct == through == [{"n": 3, "most": 2}]
    assert "x" in await stored(db)
    assert middle - before == 1
    assert after == middle  # an INSERT without parameters: SQLAlchemy's own way


async def test_rows_returned_by_a_many_row_insert_are_those_it_inserted(db: Database) -> None:
    claim = upsert_in(db.engine.dialect.name, things).on_conflict_do_nothing().returning(things.c.id)
    bump = upsert_in(db.engine.dialect.name, counters).values(name=bindparam("name"), value=1)
    bump = bump.on_conflict_do_update(index_elements=[counters.c.name], set_={"value": counters.c.value + 1})
    bump = bump.returning(counters.c.value)
    inserts: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        inserts.extend([statement] if statement.startswith("INSERT INTO things") else [])

    async with db.transaction() as session:
        await execute(session, INSERT, row("a"))
        event.listen(db.engine.sync_engine, "before_cursor_execute", listen)
        try:
            claimed = await execute(session, claim, [row("a"), row("b"), row("c")])
        finally:
            event.remove(db.engine.sync_engine, "before_cursor_execute", listen)
        numbers = [(await execute(session, bump, {"name": "n"})).scalar_one() for _ in range(3)]
    assert sorted(claimed.scalars()) == ["b", "c"]
    assert len(inserts) == 1  # the three rows in one statement, as SQLAlchemy sends them
    assert numbers == [1, 2, 3]
    assert sorted(await stored(db)) == ["a", "b", "c"]


async def test_a_refused_row_raises_as_through_sqlalchemy_without_its_values(db: Database) -> None:
    async with db.transaction() as session:
        await execute(session, INSERT, row("taken"))
    with pytest.raises(IntegrityError) as raised:
        async with db.transaction() as session:
            await execute(session, INSERT, row("taken", search="a value about a person"))
    assert "a value about a person" not in str(raised.value)
    dbapi = db.engine.dialect.loaded_dbapi
    assert isinstance(raised.value.orig, sqlite3.IntegrityError if db.is_sqlite else dbapi.IntegrityError)
    assert not raised.value.connection_invalidated
    assert list(await stored(db)) == ["taken"]  # the transaction rolled back; the first row stands


async def test_listeners_see_each_statement_run_directly(db: Database) -> None:
    seen: list[tuple[str, bool]] = []

    def listen(_conn: Any, _cursor: Any, statement: str, _params: Any, _context: Any, many: bool) -> None:
        seen.append((statement.split()[0], many))

    event.listen(db.engine.sync_engine, "before_cursor_execute", listen)
    try:
        async with db.transaction() as session:
            await execute(session, INSERT, [row("x"), row("y")])
            await execute(session, UPDATE, {"thing": "x", "kind": "second"})
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listen)
    assert [s for s in seen if s[0] != "BEGIN"] == [("INSERT", True), ("UPDATE", False)]


async def test_outside_a_writer_statements_go_through_sqlalchemy(db: Database) -> None:
    async with db.transaction() as session:
        await execute(session, INSERT, row("t1"))
    async with db.connect() as session:  # a read that may wait: handed to the connection's thread
        before = await ran_here(session)
        found = (await execute(session, READ, {"ids": ["t1"], "start": "rossi"})).mappings()
        assert await ran_here(session) == before
    assert [r["id"] for r in found] == ["t1"]


@pytest.mark.postgres
async def test_a_connection_lost_under_a_statement_is_invalidated_and_replaced(own_database: str) -> None:
    """PostgreSQL: the server ends the connection in the middle of a transaction; the next
    statement run directly fails as through SQLAlchemy (a DBAPIError whose connection is
    invalidated, which the services take for a database outage), and the pool opens a new
    connection for the next transaction, which stores its row."""
    db, admin = Database(own_database), Database(own_database)
    async with db.engine.begin() as session:
        await session.run_sync(metadata.create_all)
    try:
        with pytest.raises(DBAPIError) as raised:
            async with db.transaction() as session:
                await execute(session, INSERT, row("before"))
                pid = (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one()
                async with admin.transaction() as other:
                    await other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
                before = statements.asyncpg_runs
                await execute(session, INSERT, row("lost"))
        assert raised.value.connection_invalidated and unavailable(raised.value)
        assert statements.asyncpg_runs == before, "the lost statement did not run"
        async with db.transaction() as session:
            await execute(session, INSERT, row("after"))
            assert (await session.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
        assert sorted(await stored(db)) == ["after"]  # "before" went with the lost transaction
    finally:
        await db.dispose()
        await admin.dispose()


async def test_a_textual_statement_goes_through_sqlalchemy_and_answers_its_rows(db: Database) -> None:
    """Its result's columns are known only once it ran: SQLAlchemy's way, rows and all."""
    async with db.transaction() as session:
        await execute(session, INSERT, [row("a"), row("b")])
        before = await ran_here(session)
        found = await execute(session, text("SELECT id FROM things WHERE kind = :kind ORDER BY id"), {"kind": "first"})
        assert await ran_here(session) == before
    assert found.mappings() == [{"id": "a"}, {"id": "b"}]


def driver_in_transaction(driver: Any) -> bool:
    """Whether the driver's own connection (asyncpg's, or sqlite3's under SQLite's) is in a
    transaction."""
    connection = getattr(driver, "_connection", None)
    return bool(connection.in_transaction) if connection is not None else bool(driver.is_in_transaction())


async def test_a_read_of_its_own_runs_directly_and_begins_no_transaction(db: Database) -> None:
    """``Database.one_read``: its read runs on the driver's connection, no transaction is
    begun around it (no BEGIN sent, none open after it) and it sees what committed before."""
    async with db.transaction() as session:
        await execute(session, INSERT, [row("t1"), row("t2")])
    sent: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement.split()[0])

    event.listen(db.engine.sync_engine, "before_cursor_execute", listen)
    try:
        async with db.one_read() as session:
            before = await ran_here(session)
            found = (await execute(session, READ, {"ids": ["t1", "t2"], "start": "rossi"})).mappings()
            assert await ran_here(session) == before + 1
            assert not session.in_transaction()
            assert not driver_in_transaction((await session.get_raw_connection()).driver_connection)
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listen)
    assert sent == ["SELECT"]
    assert [r["id"] for r in found] == ["t1", "t2"]


async def test_a_write_on_a_connection_for_reading_is_not_run_directly_nor_kept(db: Database) -> None:
    """A write where only reads were declared goes through SQLAlchemy (``one_read``, and a
    short snapshot on SQLite) or runs in the snapshot's own transaction (PostgreSQL), which
    is rolled back when the block ends: nothing is stored, and the connection goes back to
    the pool with no transaction open."""
    for way, reading in (("one_read", db.one_read), ("snapshot", lambda: db.snapshot(short=True))):
        async with reading() as session:
            before = await ran_here(session)
            await execute(session, INSERT, row("written-while-reading"))
            if way == "one_read" or db.is_sqlite:
                assert await ran_here(session) == before, way
        assert await stored(db) == {}, way
    async with db.connect() as session:
        assert not driver_in_transaction((await session.get_raw_connection()).driver_connection)
