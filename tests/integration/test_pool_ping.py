"""PostgreSQL: a pooled connection is pinged when it is taken after being idle, and replaced
when the server no longer answers on it; one taken again at once is not pinged."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from crocevia_common.db import Database

pytestmark = pytest.mark.postgres


def counted_pings(db: Database) -> list[bool]:
    """Each ping the pool sends from now on, whether it was answered."""
    pings: list[bool] = []
    ping = db.engine.dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        try:
            answered = ping(dbapi_connection)
        except Exception:
            pings.append(False)
            raise
        pings.append(True)
        return answered

    db.engine.dialect.do_ping = counting  # type: ignore[method-assign]
    return pings


async def backend(db: Database) -> int:
    async with db.transaction() as session:
        return int((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())


async def test_an_idle_connection_is_pinged_and_replaced_once_the_server_dropped_it(own_database: str) -> None:
    db, admin = Database(own_database, ping_after_idle_seconds=0.2), create_async_engine(own_database)
    pings = counted_pings(db)
    try:
        first = await backend(db)
        assert [await backend(db) for _ in range(20)] == [first] * 20, "one connection, taken again and again"
        assert pings == [], "taken again at once: not pinged"

        async with admin.begin() as conn:  # as a restart of the server would, while it is idle
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.3)  # idle past the limit
        second = await backend(db)
        assert second != first and pings == [False], "pinged, unanswered, replaced"

        await asyncio.sleep(0.3)
        assert await backend(db) == second and pings == [False, True], "pinged, answered, kept"
    finally:
        await db.dispose()
        await admin.dispose()
