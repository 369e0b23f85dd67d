"""Databases for storage tests: a SQLite file, and a fresh PostgreSQL database on
``TEST_DATABASE_URL`` (else 127.0.0.1:5432, else a testcontainers PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

DEFAULT_POSTGRES = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def postgres_required() -> bool:
    return os.environ.get("REQUIRE_POSTGRES") == "1"


async def _can_connect(url: str) -> str | None:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        await engine.dispose()


def admin_url() -> tuple[str | None, str]:
    """A reachable PostgreSQL server URL (asyncpg driver), or None and the reason."""
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_POSTGRES)
    url = url.replace("postgresql://", "postgresql+asyncpg://", 1) if url.startswith("postgresql://") else url
    problem = asyncio.run(_can_connect(url))
    if problem is None:
        return url, ""
    return None, f"no PostgreSQL at {make_url(url).render_as_string(hide_password=True)}: {problem}"


async def _admin(url: str, statement: str) -> None:
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@contextmanager
def fresh_postgres_database(server_url: str) -> Iterator[str]:
    """Create an empty database for one test and drop it afterwards."""
    name = f"crocevia_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
