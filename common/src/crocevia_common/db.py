"""The database engine (SQLite in WAL mode or PostgreSQL) and Alembic migrations at start.

A SQLite file holds private keys: it is made readable by its owner only (0600; SQLite gives
its ``-wal`` and ``-shm`` files the main file's mode), in a directory made 0700 when this
module creates it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Self

from alembic import command
from alembic.config import Config
from sqlalchemy import DateTime, LargeBinary, Table, event, text
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

from crocevia_common.private_files import make_private_dirs
from crocevia_common.sqlite_driver import inline_connection, inline_connector
from crocevia_common.statements import ONE_READ

log = logging.getLogger(__name__)


def private_sqlite_file(path: Path) -> None:
    """Create the SQLite file ``path`` readable by its owner only, or narrow an existing
    one (and its ``-wal``/``-shm`` files) to that; a missing directory is made 0700."""
    make_private_dirs(path.parent)
    path.touch(mode=0o600, exist_ok=True)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists():
            file.chmod(0o600)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    # Deleted and overwritten values are zeroed in the file, not left in free space.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


SQLITE_FULL = 13  # "database or disk is full"
POSTGRES_DISK_FULL = "53100"  # SQLSTATE disk_full


def storage_full(exc: BaseException) -> bool:
    """The database's disk is full: nothing more can be written until space is made."""
    if not isinstance(exc, DBAPIError):
        return False
    sqlite_code = getattr(exc.orig, "sqlite_errorcode", None)
    if isinstance(sqlite_code, int):
        return sqlite_code & 0xFF == SQLITE_FULL  # the primary code of an extended one
    return getattr(exc.orig, "sqlstate", None) == POSTGRES_DISK_FULL


def unavailable(exc: BaseException) -> bool:
    """A failure to reach the database (it is down, restarting, or the connection broke),
    or to write to it (its disk is full), which passes, rather than a statement the
    database refuses."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, (OperationalError, InterfaceError)) or storage_full(exc)
    return isinstance(exc, (OSError, ConnectionError, TimeoutError))


class UtcDateTime(TypeDecorator[datetime]):
    """An instant, stored with its time zone and always read back as aware UTC (SQLite keeps
    no zone: what it returns naive is UTC, as it was written)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("an instant must carry its time zone")
        return value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Any:
        """On SQLite, the text SQLAlchemy's ``DATETIME`` stores (``2026-11-30 09:05:00.000000``,
        UTC), written in one step: every row a service writes holds several instants."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            if value is None:
                return None
            zone = value.tzinfo
            if zone is None:
                raise ValueError("an instant must carry its time zone")
            if zone is not UTC:
                value = value.astimezone(UTC)
            return value.isoformat(" ", "microseconds")[:26]  # without its "+00:00"

        return process

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Blob(LargeBinary):
    """Bytes, handed to the driver as they are: SQLAlchemy wraps each value in the DB-API's
    ``Binary`` first (a ``memoryview`` for sqlite3), which neither sqlite3 nor asyncpg needs
    and which costs a service that writes entries, nodes and outbox payloads a tenth of its
    writes' CPU."""

    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> None:
        return None


def upsert(session: AsyncConnection, table: Table) -> Any:
    """``INSERT`` into ``table`` in the connection's dialect (SQLite or PostgreSQL), which takes
    ``on_conflict_do_nothing`` and ``on_conflict_do_update``."""
    return upsert_in(session.dialect.name, table)


def upsert_in(dialect: str, table: Table) -> Any:
    """``upsert`` for the dialect of that name (a statement made once and kept)."""
    return (postgresql_insert if dialect == "postgresql" else sqlite_insert)(table)


async def insert_missing(session: AsyncConnection, table: Table, values: dict[str, Any]) -> None:
    """Insert a row unless one with the same primary key exists: concurrent writers of the
    same new row then wait on each other instead of failing on the key."""
    keys = [c.name for c in table.primary_key.columns]
    await session.execute(upsert(session, table).values(**values).on_conflict_do_nothing(index_elements=keys))


def _ping_when_idle(engine: AsyncEngine, idle_seconds: float) -> None:
    """A pooled connection idle for longer than ``idle_seconds`` is pinged as it is taken,
    and replaced when the server does not answer (restarted, or the connection dropped while
    idle); one taken again soon after it was handed back is not, as SQLAlchemy's
    ``pool_pre_ping`` would each time: a round trip that cost a transaction a third of its
    CPU. A connection that broke since it was handed back moments ago fails its first
    statement; the pool then drops every connection older than that, and the caller sees the
    database unavailable (``unavailable``: consumers hold their messages and try again, the
    API answers 503)."""
    pool = engine.sync_engine.pool

    def handed_back(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    def taken(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        since = record.info.pop("idle_since", None)
        if since is None or time.monotonic() - since <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError("a pooled connection did not answer its ping") from exc

    event.listen(pool, "checkin", handed_back)
    event.listen(pool, "checkout", taken)


class Database:
    """One service's database: an async engine, whose connections its callers use (Core
    statements only: no ORM session, whose bookkeeping cost a transaction a quarter of its
    CPU)."""

    def __init__(
        self, url: str, pool_size: int = 5, max_overflow: int = 5, ping_after_idle_seconds: float = 5.0
    ) -> None:
        parsed = make_url(url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            private_sqlite_file(Path(parsed.database))
        options: dict[str, Any] = {}
        if self.is_sqlite and parsed.database and parsed.database != ":memory:":
            options.update(async_creator=inline_connector(parsed.database))
        if not self.is_sqlite:
            # Each replica of each service holds up to pool_size + max_overflow connections:
            # a district's eleven services stay within PostgreSQL's default of 100.
            options.update(pool_size=pool_size, max_overflow=max_overflow)
        # A statement's error never carries its values (about people) into a log or a reason.
        self.engine: AsyncEngine = create_async_engine(url, hide_parameters=True, **options)
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            # aiosqlite logs every statement with its values at DEBUG: values about people
            # never go to a log, whatever level the process runs at.
            logging.getLogger("aiosqlite").setLevel(max(logging.getLogger("aiosqlite").level, logging.INFO))
        else:
            _ping_when_idle(self.engine, ping_after_idle_seconds)
        # SQLite has one writer at a time; queueing this process's writers here is cheaper
        # than letting them poll the file lock (busy_timeout) against each other.
        self._writer = asyncio.Lock() if self.is_sqlite else None
        # SQLite: the connection those writers take in turn, kept between transactions.
        self._writing: AsyncConnection | None = None

    def connect(self) -> AsyncConnection:
        """A connection of the pool (``async with``: handed back at the end, what it began
        and did not commit rolled back)."""
        return self.engine.connect()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection whose work is committed together, or not at all."""
        if self._writer is None:
            async with self.connect() as session, session.begin():
                yield session
            return
        async with self._writer:
            session = await self._writer_connection()
            try:
                # Take SQLite's write lock first: a read-then-write transaction must not work
                # from a snapshot another writer has moved past (PostgreSQL callers lock the
                # rows they read with SELECT ... FOR UPDATE instead). The statement begins the
                # connection's transaction.
                await session.exec_driver_sql("BEGIN IMMEDIATE")
                yield session
                await session.commit()
            except BaseException:
                await self._undo(session)  # also when cancelled: the next writer finds it clean
                raise

    async def _writer_connection(self) -> AsyncConnection:
        """SQLite: the connection this process's writers use one after the other, kept between
        their transactions: taking one from the pool and handing it back (rolled back on the
        way) cost each transaction two more trips through SQLAlchemy's async layer than its
        BEGIN and COMMIT. Made again after one that could not be rolled back."""
        if self._writing is None or self._writing.closed or self._writing.invalidated:
            self._writing = await self.engine.connect()
        return self._writing

    async def _undo(self, session: AsyncConnection) -> None:
        """Roll back what a writer left unfinished; a connection that cannot be rolled back
        (its database gone) is closed, and the next writer takes a new one."""
        try:
            await session.rollback()
        except Exception as exc:
            log.warning("closing the writer's connection, which could not roll back: %s", type(exc).__name__)
            self._writing = None
            with contextlib.suppress(Exception):
                await session.close()

    @asynccontextmanager
    async def snapshot(self, *, short: bool = False) -> AsyncIterator[AsyncConnection]:
        """A connection for reading only, whose statements all see the database as one moment:
        a view read in several statements (a referral's row, then its history) is never half
        before and half after another transaction's commit. SQLite: one read transaction
        (its snapshot is taken at the first read); PostgreSQL: REPEATABLE READ. ``short``: the
        caller reads a few bounded rows (a referral, a proof), which on a SQLite file then run
        on the event loop's thread (``sqlite_driver``); never for a read of a whole table."""
        async with self.connect() as session:
            if not self.is_sqlite:
                await session.execution_options(isolation_level="REPEATABLE READ")
                # Begun here (closing the connection rolls it back, as for one begun by its
                # first read), so that its statements run directly (``statements``).
                await session.begin()
                yield session
                return
            inline = await inline_connection(session) if short else None
            if inline is not None:
                inline.reading_short = True
            try:
                await session.exec_driver_sql("BEGIN")
                yield session
            finally:
                if inline is not None:
                    inline.reading_short = False

    @asynccontextmanager
    async def one_read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for one statement that reads a few bounded rows (by an index): one
        statement sees the database as one moment by itself, so no transaction is begun for
        it. PostgreSQL: no ``BEGIN``/``ROLLBACK`` round trips around it; SQLite: no ``BEGIN``.
        It runs on the driver's connection itself (``statements``); a second statement would
        see its own moment (``snapshot`` is for reads that must agree)."""
        async with self.connect() as session:
            if not self.is_sqlite:
                await session.execution_options(**{ONE_READ: True})
                yield session
                return
            inline = await inline_connection(session)
            if inline is not None:
                inline.reading_short = True
            try:
                yield session
            finally:
                if inline is not None:
                    inline.reading_short = False

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def migrate(self, script_location: str | Path) -> None:
        """Bring the schema to the newest Alembic revision of ``script_location``."""

        def upgrade(connection: Connection) -> None:
            config = Config()
            config.set_main_option("script_location", str(script_location))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                # Replicas starting together migrate one after the other (the lock is
                # released when this transaction ends).
                await conn.execute(text("SELECT pg_advisory_xact_lock(7201120001)"))
            await conn.run_sync(upgrade)

    async def dispose(self) -> None:
        """Close every connection. A connection cancelled mid-work closes in a shielded task
        of its own: wait (briefly) for it to hand its connection back, or that connection
        would outlive the engine, holding SQLite's write lock."""
        if self._writing is not None and self._writer is not None:
            writing, self._writing = self._writing, None
            taken = False
            with contextlib.suppress(TimeoutError):  # after the writer using it, if it ends soon
                taken = await asyncio.wait_for(self._writer.acquire(), timeout=5.0)
            try:
                with contextlib.suppress(Exception):
                    await writing.close()
            finally:
                if taken:
                    self._writer.release()
        for _ in range(100):
            if self.engine.pool.checkedout() == 0:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0.05)
        await self.engine.dispose()


class SnapshotReads:
    """Reads that each open their own connection; made by ``reading``, they share one
    connection and one snapshot (``Database.snapshot``) until its block ends."""

    def __init__(self, db: Database, shared: AsyncConnection | None = None) -> None:
        self.db = db
        self._shared = shared

    short: ClassVar[bool] = False  # reads of a few bounded rows (``Database.snapshot``)

    @classmethod
    @asynccontextmanager
    async def reading(cls, db: Database) -> AsyncIterator[Self]:
        async with db.snapshot(short=cls.short) as session:
            yield cls(db, session)

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncConnection]:
        if self._shared is not None:
            yield self._shared
        else:
            async with self.db.connect() as session:
                yield session

    @asynccontextmanager
    async def _one_moment(self) -> AsyncIterator[AsyncConnection]:
        """For a read of several statements that must agree: the shared snapshot, or one of
        its own (each statement of ``_session`` alone may see a later commit)."""
        if self._shared is not None:
            yield self._shared
        else:
            async with self.db.snapshot(short=self.short) as session:
                yield session


def run_migrations_online(target_metadata: Any = None) -> None:
    """The body of every service's ``env.py``: migrate on the connection ``Database.migrate``
    hands over (Alembic's context is module-global, so it is read here, not passed)."""
    from alembic import context

    connection = context.config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
