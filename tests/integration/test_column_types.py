"""The column types every service stores with: instants (``UtcDateTime``) and bytes
(``Blob``) written by the services' own bind steps read back exactly, on SQLite and on
PostgreSQL; on SQLite an instant is the text SQLAlchemy's ``DATETIME`` writes, so rows
written before and after compare and sort as one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Column, DateTime, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects.sqlite.aiosqlite import SQLiteDialect_aiosqlite

from crocevia_common.db import Blob, Database, UtcDateTime

metadata = MetaData()
samples = Table(
    "samples",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=True),
    Column("content", Blob, nullable=True),
)
SQLITE = SQLiteDialect_aiosqlite()
instants = st.datetimes(
    min_value=datetime(1000, 1, 1),
    max_value=datetime(9998, 12, 31),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7, minutes=-30)), timezone(timedelta(hours=14))]),
)


@given(instants)
def test_an_instant_is_stored_on_sqlite_as_the_text_of_sqlalchemys_datetime(moment: datetime) -> None:
    ours = UtcDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    theirs = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours(moment) == theirs(moment.astimezone(UTC).replace(tzinfo=None))


def test_an_instant_without_a_time_zone_is_refused_on_sqlite() -> None:
    ours = UtcDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours(None) is None
    with pytest.raises(ValueError, match="must carry its time zone"):
        ours(datetime(2026, 11, 30, 9, 5))


async def test_instants_and_bytes_read_back_as_written(database_url: str) -> None:
    db = Database(database_url)
    rome = timezone(timedelta(hours=1))
    written = [
        {"id": 1, "at": datetime(2026, 11, 30, 9, 5, 0, 123456, tzinfo=rome), "content": bytes(range(256))},
        {"id": 2, "at": datetime(2026, 3, 29, 1, 59, 59, tzinfo=UTC), "content": b""},
        {"id": 3, "at": None, "content": None},
    ]
    try:
        async with db.engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        async with db.transaction() as session:
            await session.execute(insert(samples), written)
        async with db.connect() as session:
            rows = (await session.execute(select(samples).order_by(samples.c.id))).all()
            later = (await session.execute(select(samples.c.id).where(samples.c.at > written[1]["at"]))).all()
    finally:
        await db.dispose()
    assert [(row.at, row.content) for row in rows] == [(w["at"], w["content"]) for w in written]
    assert [row.at.tzinfo for row in rows[:2]] == [UTC, UTC]
    assert [type(row.content) for row in rows[:2]] == [bytes, bytes]
    assert [row.id for row in later] == [1]
