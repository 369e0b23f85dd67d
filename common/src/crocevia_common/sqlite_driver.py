"""SQLite for the async engine with fewer hand-offs between threads.

aiosqlite runs every call of a connection (a cursor made, a statement, its rows fetched, the
cursor closed) on the connection's own thread, each call a hand-off there and back through
the event loop: on a referral node that was about half of the process's CPU. The statements of
a transaction that holds SQLite's write lock (``BEGIN IMMEDIATE``, which
``Database.transaction`` takes first) wait for no other connection, and are short (a service's
writes are a batch of events or one request's): ``InlineConnection`` runs them on the event
loop's thread, at once; so do the reads of a read transaction its caller declares short
(``Database.snapshot(short=True)``: a referral, a proof's few rows), which in WAL mode wait for
no writer. Whatever may wait for a lock another connection or process holds (taking the write
lock, a write outside such a transaction, a checkpoint), for the disk (a writer's commit, which
may checkpoint the log into the file), or long (any other read: the audit's indicators or an
export read a whole table) still goes to the connection's thread, so the event loop never waits
on the database.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncSession

_TAKES_WRITE_LOCK = re.compile(r"\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)\b", re.IGNORECASE)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls in a transaction holding the write lock (but its
    commit), or in a short read transaction, run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._thread.daemon = True
        self.writing = False  # in a transaction that holds the write lock
        self.reading_short = False  # in a read transaction of a few bounded reads

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        name = getattr(fn, "__name__", "")
        if name in ("commit", "rollback"):
            writing, self.writing = self.writing, False
            if name == "commit" and writing:  # the log may be checkpointed into the file: the disk
                return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
            return fn(*args, **kwargs)  # a rollback, or the end of a read: nothing to wait for
        if self.writing or self.reading_short or name == "cursor":
            return fn(*args, **kwargs)
        found = await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]
        if name == "execute" and args and isinstance(args[0], str) and _TAKES_WRITE_LOCK.match(args[0]):
            self.writing = True
        return found


async def inline_connection(session: AsyncSession) -> InlineConnection | None:
    """The session's driver connection when it is an ``InlineConnection``."""
    raw = await (await session.connection()).get_raw_connection()
    driver = raw.driver_connection
    return driver if isinstance(driver, InlineConnection) else None


def inline_connector(path: str) -> Callable[[], Any]:
    """The ``async_creator`` of an engine on the SQLite file ``path``."""

    async def connect() -> aiosqlite.Connection:
        return await InlineConnection(lambda: sqlite3.connect(path, check_same_thread=False))

    return connect
