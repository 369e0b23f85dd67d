"""SQLite for the async engine with fewer hand-offs between threads.

aiosqlite runs every call of a connection (a cursor made, a statement, its rows fetched, the
cursor closed) on the connection's own thread, each call a hand-off there and back through
the event loop: on a referral node that was about half of the process's CPU, and each costs
about 70 us of CPU. ``InlineConnection`` runs on the event loop's thread, at once, what waits
for nothing:

- taking the write lock (``BEGIN IMMEDIATE``, which ``Database.transaction`` takes first)
  when no other connection holds it: tried without waiting (busy timeout 0); held elsewhere,
  it is taken again on the connection's thread, waiting up to the connection's busy timeout;
- the statements of a transaction that holds the write lock (a service's writes are short:
  a batch of events or one request's), and its commit: in WAL mode with ``synchronous=NORMAL``
  a commit appends the transaction's pages to the log, without waiting for the disk, as long
  as it does not also checkpoint the log into the file. Connections made here do not
  checkpoint on commit (``wal_autocheckpoint=0``): after a commit that leaves the log file
  larger than ``CHECKPOINT_BYTES``, a passive checkpoint runs on the connection's thread. The
  log is cut back to that size when it starts over (``journal_size_limit``), so a log larger
  than that holds that much written since the last checkpoint, as SQLite's own automatic
  checkpoint counts (by default every 1,000 pages, 4 MiB);
- the reads of a read transaction its caller declares short (``Database.snapshot(short=True)``:
  a referral, a proof's few rows), which in WAL mode wait for no writer; closing a cursor.

Whatever else may wait for a lock another connection or process holds (a write outside such a
transaction, a checkpoint), for the disk (a checkpoint), or long (any other read: the audit's
indicators or an export read a whole table) still goes to the connection's thread, so the event
loop never waits on the database.
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
from collections.abc import Callable
from typing import Any

import aiosqlite
from sqlalchemy.ext.asyncio import AsyncConnection

log = logging.getLogger(__name__)

_TAKES_WRITE_LOCK = re.compile(r"\s*BEGIN\s+(IMMEDIATE|EXCLUSIVE)\b", re.IGNORECASE)

# The log's size beyond which a commit is followed by a checkpoint, and to which the log is
# cut back when it starts over.
CHECKPOINT_BYTES = 8 * 1024 * 1024


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _checkpoint(connection: sqlite3.Connection) -> None:
    """A passive checkpoint; one that fails (a full disk) fails nothing else: the commit before
    it stands, as with SQLite's own automatic checkpoint, and the next commit tries again."""
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.Error as exc:
        log.warning("checkpoint of the SQLite log failed, tried again after the next commit: %s", exc)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection whose calls that wait for nothing (taking a free write lock,
    the statements and commit of a transaction holding it, a short read transaction's reads)
    run on the caller's thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection], log: str, iter_chunk_size: int = 64) -> None:
        super().__init__(connector, iter_chunk_size)
        self._log = log  # the write-ahead log's file
        self._thread.daemon = True
        self.writing = False  # in a transaction that holds the write lock
        self.reading_short = False  # in a read transaction of a few bounded reads
        self.handed_off = 0  # calls run on the connection's thread
        self.ran_here = 0  # statements run on its sqlite3 connection directly (``statements.execute``)
        self._busy_timeout: int | None = None  # ms, as the connection was configured

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        name = getattr(fn, "__name__", "")
        if name in ("commit", "rollback"):
            self.writing = False
            found = fn(*args, **kwargs)
            if name == "commit" and _size(self._log) > CHECKPOINT_BYTES:
                await self._handed_off(_checkpoint, self._connection)
            return found
        if self.writing or self.reading_short or name == "cursor" or _closes_a_cursor(fn):
            return fn(*args, **kwargs)
        if name == "execute" and args and isinstance(args[0], str) and _TAKES_WRITE_LOCK.match(args[0]):
            found = self._without_waiting(fn, *args, **kwargs)
            if found is _BUSY:
                found = await self._handed_off(fn, *args, **kwargs)
            self.writing = True
            return found
        return await self._handed_off(fn, *args, **kwargs)

    async def _handed_off(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        self.handed_off += 1
        return await super()._execute(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    def _without_waiting(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn`` with a busy timeout of 0: its result, or ``_BUSY`` when another
        connection holds the lock it takes."""
        connection = self._connection
        assert connection is not None
        if self._busy_timeout is None:
            self._busy_timeout = int(connection.execute("PRAGMA busy_timeout").fetchone()[0])
        connection.execute("PRAGMA busy_timeout=0")
        try:
            return fn(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:  # and its extended codes
                return _BUSY
            raise
        finally:
            connection.execute(f"PRAGMA busy_timeout={self._busy_timeout}")


_BUSY = object()


def _closes_a_cursor(fn: Callable[..., Any]) -> bool:
    """Closing a cursor (its statement reset) waits for nothing; closing the connection
    may checkpoint the log into the file."""
    return getattr(fn, "__name__", "") == "close" and isinstance(getattr(fn, "__self__", None), sqlite3.Cursor)


async def inline_connection(session: AsyncConnection) -> InlineConnection | None:
    """The connection's driver connection when it is an ``InlineConnection``."""
    raw = await session.get_raw_connection()
    driver = raw.driver_connection
    return driver if isinstance(driver, InlineConnection) else None


def inline_connector(path: str) -> Callable[[], Any]:
    """The ``async_creator`` of an engine on the SQLite file ``path``."""

    def open_file() -> sqlite3.Connection:
        connection = sqlite3.connect(path, check_same_thread=False)
        connection.execute("PRAGMA wal_autocheckpoint=0")  # checkpointed by InlineConnection
        connection.execute(f"PRAGMA journal_size_limit={CHECKPOINT_BYTES}")
        return connection

    async def connect() -> aiosqlite.Connection:
        return await InlineConnection(open_file, path + "-wal")

    return connect
