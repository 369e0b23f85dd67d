"""The statements a service runs for each event or request, run on the driver's own connection.

A Core statement run through SQLAlchemy's async engine costs about 100 us of SQLAlchemy's own
work on SQLite (its execution context, parameters built again, a greenlet's switches there
and back, a result's metadata) around 10-20 us in sqlite3, and about 250 us on asyncpg
around its 100 us: on a referral node that was a quarter of the process's CPU or more.
``execute`` runs such a statement on the driver's connection itself, with what SQLAlchemy
compiled for it once: its SQL, the order of its parameters, the constants it holds, and its
types' own bind and result processors, so values are written and read exactly as through
SQLAlchemy. Its errors are raised as SQLAlchemy raises them (``IntegrityError``, ..., the
driver's error as ``orig``; a lost connection invalidated), and the engine's
``before_cursor_execute`` listeners see it.

- SQLite, where the statement would run on the event loop's thread anyway (in a
  transaction holding the write lock, or a read transaction declared short: see
  ``sqlite_driver``): on sqlite3's connection, on this thread.
- PostgreSQL on asyncpg, inside a transaction SQLAlchemy began: a prepared statement of
  SQLAlchemy's adapter (its cache, the transaction it begins), or asyncpg's executemany;
  each ``IN`` list bound as one array (``= ANY ($n)``), so the statement is prepared once
  whatever the list's length. A read on a connection of ``Database.one_read`` runs the same
  way with no transaction begun.

Anywhere else (a connection that hands its calls to its thread, a statement whose
compiled form depends on more than its parameters' names), it runs through SQLAlchemy,
and the answer has the same shape."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.elements import TextClause
from sqlalchemy.util import greenlet_spawn

from crocevia_common.sqlite_driver import InlineConnection

Params = Mapping[str, Any]
# The execution option of a connection for one read with no transaction (``Database.one_read``).
ONE_READ = "crocevia_one_read"


@dataclass(frozen=True)
class Rows:
    """What a statement answered: its rows (each a mapping of its columns), how many rows
    it changed, and the key of the row an INSERT of one row made."""

    rows: list[dict[str, Any]]
    rowcount: int
    inserted_key: Any = None

    def mappings(self) -> list[dict[str, Any]]:
        return self.rows

    def scalar_one(self) -> Any:
        if len(self.rows) != 1:
            raise exc.NoResultFound("no row") if not self.rows else exc.MultipleResultsFound("several rows")
        return next(iter(self.rows[0].values()))

    def scalar_one_or_none(self) -> Any:
        return self.scalar_one() if self.rows else None

    def scalars(self) -> list[Any]:
        return [next(iter(row.values())) for row in self.rows]


@dataclass(frozen=True)
class _Plan:
    """A statement compiled for a dialect for parameters of these names."""

    sql: str
    names: tuple[str, ...]  # of the positional parameters, in order
    constants: Mapping[str, Any]  # the values the statement holds itself (and scalar defaults)
    processors: Mapping[str, Callable[[Any], Any]]
    expanding: frozenset[str]  # parameters that take a list (``IN``), spread when run
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # result keys and processors
    row_values: str | None  # an INSERT's ``(?, ?, ...)``, repeated to insert many rows in one statement
    types: tuple[Any, ...] = ()  # of the result's columns (asyncpg: processors by the column's type oid)
    key_returned: bool = False  # an INSERT of one row that returns its new key (PostgreSQL)
    # Without an ``IN`` list: the positional values taken in one step, then the few that
    # have a processor (an instant, ...) processed.
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]] = field(init=False)
    processed: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False)
    keys: tuple[str, ...] = field(init=False)  # of the result's columns
    read: tuple[tuple[str, Callable[[Any], Any]], ...] = field(init=False)  # the result's processors by key

    def __post_init__(self) -> None:
        names = self.names
        pick = itemgetter(*names) if len(names) > 1 else lambda params: tuple(params[n] for n in names)
        object.__setattr__(self, "pick", pick)
        processed = tuple((i, p) for i, name in enumerate(names) if (p := self.processors.get(name)) is not None)
        object.__setattr__(self, "processed", processed)
        object.__setattr__(self, "keys", tuple(key for key, _ in self.columns))
        # (a key twice: its last column's value and processor, as in a dict of the row)
        read = tuple((key, p) for key, p in dict(self.columns).items() if p is not None)
        object.__setattr__(self, "read", read)
        object.__setattr__(self, "_by_oids", {})

    def read_by_oids(self, dialect: Dialect, oids: tuple[int, ...]) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
        """The result's processors by key, for columns of these type oids (asyncpg), made once."""
        by_oids: dict[tuple[int, ...], Any] = self._by_oids  # type: ignore[attr-defined]
        found = by_oids.get(oids)
        if found is None:
            processors = [t._cached_result_processor(dialect, oid) for t, oid in zip(self.types, oids, strict=True)]
            found = by_oids[oids] = tuple(
                (key, p) for key, p in dict(zip(self.keys, processors, strict=True)).items() if p is not None
            )
        return found


_MARK = "__[POSTCOMPILE_{}]"
_MOST_PLANS = 1024
_MOST_VALUES = 32766  # SQLite's limit on a statement's parameters (since 3.32; PostgreSQL's is 32767)
# (the statement's id, the dialect, its parameters' names, for many rows) -> (the statement,
# its plan or None: not run here)
_plans: dict[tuple[int, str, tuple[str, ...], bool], tuple[Executable, _Plan | None]] = {}
_NUMBERED = re.compile(r"\$(\d+)")
_STATUS = re.compile(r"(?:SELECT|UPDATE|DELETE|INSERT \d+) (\d+)")  # asyncpg's status: the rows changed
# Statements run on asyncpg's connection by ``execute`` (read by tests).
asyncpg_runs = 0


def _plan_of(statement: Executable, dialect: Dialect, keys: tuple[str, ...], many: bool) -> _Plan | None:
    if isinstance(statement, TextClause):
        return None  # its result's columns are not known before it runs
    compiled: Any = cast(ClauseElement, statement).compile(
        dialect=dialect, column_keys=list(keys), for_executemany=many
    )
    if compiled.update_prefetch or any(not getattr(c.default, "is_scalar", False) for c in compiled.insert_prefetch):
        return None  # a default SQLAlchemy computes when it runs the statement
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    constants = {name: binds[name].effective_value for name in names if name not in keys and not binds[name].required}
    for column in compiled.insert_prefetch:
        constants[column.key] = column.default.arg
    if any(name not in keys and name not in constants for name in names):
        return None
    sql, processors = compiled.string, dict(compiled._bind_processors)
    expanding = frozenset(name for name in names if binds[name].expanding)
    if expanding and dialect.name == "postgresql":
        arrays = _as_arrays(sql, names, expanding)
        if arrays is None:
            return None
        for name in expanding:
            process = processors.get(name)
            processors[name] = (lambda values, p=process: [p(v) for v in values]) if process else list
        sql, expanding = arrays, frozenset()
    return _Plan(
        sql=sql,
        names=names,
        constants=constants,
        processors=processors,
        expanding=expanding,
        columns=tuple(
            (entry.keyname, entry.type._cached_result_processor(dialect, None)) for entry in compiled._result_columns
        ),
        row_values=f"({many_values.single_values_expr})" if (many_values := compiled._insertmanyvalues) else None,
        types=tuple(entry.type for entry in compiled._result_columns),
        key_returned=bool(getattr(compiled, "implicit_returning", None)),
    )


_IN_LIST = re.compile(r"( NOT)? IN \(__\[POSTCOMPILE_(\w+)\]\)")


def _as_arrays(sql: str, names: tuple[str, ...], expanding: frozenset[str]) -> str | None:
    """PostgreSQL's SQL with each ``IN`` list one array parameter (``= ANY ($n)``, ``<> ALL
    ($n)``: the same rows, an empty list included), numbered in the parameters' order, so the
    statement is one prepared statement whatever the lists' lengths; None when it is not
    that simple (a parameter twice, a list used otherwise)."""
    if len(set(names)) != len(names):
        return None
    numbers: dict[int, int] = {}  # the non-list parameters' numbers, $1 on, to their new ones
    lists: dict[str, int] = {}
    for new, name in enumerate(names, start=1):
        if name in expanding:
            lists[name] = new
        else:
            numbers[len(numbers) + 1] = new
    try:
        numbered = _NUMBERED.sub(lambda found: f"${numbers[int(found.group(1))]}", sql)
    except KeyError:
        return None
    rewritten, count = _IN_LIST.subn(
        lambda found: f" {'<> ALL' if found.group(1) else '= ANY'} (${lists[found.group(2)]})", numbered
    )
    if count != len(expanding) or "__[POSTCOMPILE_" in rewritten:
        return None
    return rewritten


def _plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...], many: bool = True) -> _Plan | None:
    """The plan of ``statement`` for ``keys``; on SQLite one for one row or many (compiled
    for many: a new row's key is the cursor's), elsewhere one for each."""
    key = (id(statement), dialect.name, keys, many or dialect.name == "sqlite")
    found = _plans.get(key)
    if found is None or found[0] is not statement:
        if len(_plans) >= _MOST_PLANS:  # statements made anew for each call, which ``execute`` is not for
            _plans.clear()
        found = _plans[key] = (statement, _plan_of(statement, dialect, keys, key[3]))
    return found[1]


def _values(plan: _Plan, params: Params) -> tuple[str, tuple[Any, ...]] | None:
    """The SQL and its positional values for one set of parameters; None when an ``IN``
    list is empty (SQLAlchemy renders that case its own way)."""
    if not plan.expanding:
        picked = plan.pick({**plan.constants, **params} if plan.constants else params)
        if not plan.processed:
            return plan.sql, picked
        listed = list(picked)
        for i, processor in plan.processed:
            listed[i] = processor(listed[i])
        return plan.sql, tuple(listed)
    sql, values = plan.sql, list[Any]()
    for name in plan.names:
        value = params[name] if name in params else plan.constants[name]
        process = plan.processors.get(name)
        if name in plan.expanding:
            if not value:
                return None
            sql = sql.replace(_MARK.format(name), ", ".join("?" * len(value)), 1)
            values.extend(process(v) if process else v for v in value)
        else:
            values.append(process(value) if process else value)
    return sql, tuple(values)


def _driver(session: AsyncConnection, statement: Executable) -> InlineConnection | None:
    """The connection under ``session`` when ``statement`` runs on this thread now: any in a
    writer's transaction, a read in a short read (a write there goes through SQLAlchemy,
    which knows of the transaction it begins and rolls it back)."""
    if session.dialect.name != "sqlite":
        return None
    sync = session.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    driver = sync.connection.driver_connection
    if not isinstance(driver, InlineConnection):
        return None
    if not (driver.writing or (driver.reading_short and getattr(statement, "is_select", False))):
        return None
    return driver


async def execute(session: AsyncConnection, statement: Executable, params: Params | Sequence[Params]) -> Rows:
    """``statement`` with ``params`` (one set, or a list of sets for an executemany), on
    SQLite's connection itself when it can, else through SQLAlchemy."""
    sets: Sequence[Params] = [params] if isinstance(params, Mapping) else params
    many = not isinstance(params, Mapping)
    # Not for an executemany of no rows, nor a write without parameters (SQLAlchemy's
    # ``DEFAULT VALUES``); a read without parameters is one.
    simple = bool(sets) and (bool(sets[0]) or (not many and bool(getattr(statement, "is_select", False))))
    driver = _driver(session, statement) if simple else None
    if driver is not None:
        keys = tuple(sets[0])
        plan = _plan(statement, session.dialect, keys)
        if plan is not None and all(tuple(p) == keys for p in sets):
            found = _run(session, driver, plan, sets, many)
            if found is not None:
                return found
    found_asyncpg = _asyncpg(session, statement) if simple else None
    if found_asyncpg is not None:
        adapted, in_transaction = found_asyncpg
        keys = tuple(sets[0])
        plan = _plan(statement, session.dialect, keys, many)
        if plan is not None and not plan.expanding and all(tuple(p) == keys for p in sets):
            found = await _run_asyncpg(session, adapted, plan, sets, many, in_transaction)
            if found is not None:
                return found
    result = await session.execute(statement, params)
    rows = [dict(row) for row in result.mappings()] if result.returns_rows else []
    inserted = None
    if not many and result.context.isinsert:
        with contextlib.suppress(exc.InvalidRequestError):  # an INSERT that returns its own rows
            inserted = tuple(result.inserted_primary_key or ())
    return Rows(rows, result.rowcount, inserted)


def _run(
    session: AsyncConnection, driver: InlineConnection, plan: _Plan, sets: Sequence[Params], many: bool
) -> Rows | None:
    made = [_values(plan, p) for p in sets]
    ready = [m for m in made if m is not None]
    if len(ready) < len(made) or len({sql for sql, _ in ready}) > 1:
        return None  # an empty IN list, or lists of different lengths: SQLAlchemy's own way
    sql, values = ready[0][0], [v for _, v in ready]
    sync, connection = session.sync_connection, driver._connection
    assert sync is not None and connection is not None
    runs: list[tuple[Any, bool]] = [(values, True) if many else (values[0], False)]
    if many and plan.columns:
        # sqlite3's executemany returns no rows: the rows go in one INSERT of many rows, as
        # SQLAlchemy sends them.
        if plan.row_values is None or plan.expanding or len(values) * len(plan.names) > _MOST_VALUES:
            return None
        sql = plan.sql.replace(plan.row_values, ", ".join([plan.row_values] * len(values)), 1)
        runs = [(tuple(v for row in values for v in row), False)]
    rows: list[Any] = []
    rowcount = 0
    for parameters, as_many in runs:
        for listener in sync.dispatch.before_cursor_execute:
            listener(sync, None, sql, parameters, None, as_many)
        try:
            cursor = connection.executemany(sql, parameters) if as_many else connection.execute(sql, parameters)
            rows.extend(cursor.fetchall() if plan.columns else ())
        except sqlite3.Error as error:
            raise exc.DBAPIError.instance(sql, parameters, error, sqlite3.Error, hide_parameters=True) from error
        rowcount += cursor.rowcount
    driver.ran_here += len(runs)
    mapped = [dict(zip(plan.keys, row, strict=True)) for row in rows]
    for key, process in plan.read:
        for found in mapped:
            found[key] = process(found[key])
    return Rows(mapped, rowcount, (cursor.lastrowid,) if not many and not plan.columns else None)


def _asyncpg(session: AsyncConnection, statement: Executable) -> tuple[Any, bool] | None:
    """SQLAlchemy's adapter of the asyncpg connection under ``session``, and whether the
    statement runs in a transaction: when it is in one SQLAlchemy began (so that SQLAlchemy
    commits or rolls back what runs on it), or when it is a read on a connection declared
    for one read (``ONE_READ``), which runs in none."""
    if session.dialect.driver != "asyncpg":
        return None
    sync = session.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    if sync.in_transaction():
        return sync.connection.dbapi_connection, True
    if sync.get_execution_options().get(ONE_READ) and getattr(statement, "is_select", False):
        return sync.connection.dbapi_connection, False
    return None


async def _run_asyncpg(
    session: AsyncConnection, adapted: Any, plan: _Plan, sets: Sequence[Params], many: bool, in_transaction: bool
) -> Rows | None:
    """``plan`` run on asyncpg as SQLAlchemy's adapter runs it (its lock, the transaction it
    begins unless ``in_transaction`` is false, its prepared statements); None when
    SQLAlchemy's own way is needed."""
    global asyncpg_runs
    values = [made[1] for p in sets if (made := _values(plan, p)) is not None]
    sql: str = plan.sql
    parameters: Any = values if many else values[0]
    if many and plan.columns:
        # Rows returned by an INSERT of many: one statement of many rows, as SQLAlchemy sends it.
        width = len(plan.names)
        if plan.row_values is None or len(values) * width > _MOST_VALUES:
            return None
        rows_sql = ", ".join(_renumbered(plan.row_values, i * width) for i in range(len(values)))
        sql = sql.replace(plan.row_values, rows_sql, 1)
        parameters, many = tuple(v for row in values for v in row), False
    dialect, sync = session.dialect, session.sync_connection
    assert sync is not None
    for listener in sync.dispatch.before_cursor_execute:
        listener(sync, None, sql, parameters, None, many)
    records: list[Any] = []
    attributes: Sequence[Any] = ()
    rowcount = -1
    async with adapted._execute_mutex:
        try:
            if in_transaction and adapted._transaction is None:
                await adapted._start_transaction()
            if many:
                await adapted._check_type_cache_invalidation(dialect._invalidate_schema_cache_asof)  # type: ignore[attr-defined]
                await adapted._connection.executemany(sql, parameters)
            else:
                prepared, attributes = await adapted._prepare(sql, dialect._invalidate_schema_cache_asof)  # type: ignore[attr-defined]
                records = await prepared.fetch(*parameters)
                status = _STATUS.match(prepared.get_statusmsg() or "")
                rowcount = int(status.group(1)) if status else -1
        except Exception as error:
            await _raise_as_sqlalchemy(sync, adapted, error, sql, parameters)
    asyncpg_runs += 1
    if plan.key_returned:
        return Rows([], rowcount, tuple(records[0]) if records else None)
    rows = [dict(zip(plan.keys, record, strict=True)) for record in records]
    if rows:
        oids = tuple(attribute.type.oid for attribute in attributes)
        for key, process in plan.read_by_oids(dialect, oids):
            for found in rows:
                found[key] = process(found[key])
    return Rows(rows, rowcount)


def _renumbered(row_values: str, by: int) -> str:
    """A row's ``($1, $2, ...)`` for a later row: its parameters numbered on by ``by``."""
    return _NUMBERED.sub(lambda number: f"${int(number.group(1)) + by}", row_values)


async def _raise_as_sqlalchemy(sync: Any, adapted: Any, error: Exception, sql: str, parameters: Any) -> None:
    """Raise ``error`` as SQLAlchemy would have: translated by its adapter into the DB-API's
    error, then wrapped (without the values), a lost connection invalidated, by the
    connection's own handling (which closes a connection on SQLAlchemy's greenlet)."""
    try:
        adapted._handle_exception(error)
    except Exception as translated:
        if isinstance(translated, (adapted.dbapi.InvalidCachedStatementError, adapted.dbapi.InternalServerError)):
            sync.dialect._invalidate_schema_cache()  # as SQLAlchemy's asyncpg execution context does
        await greenlet_spawn(sync._handle_dbapi_exception, translated, sql, parameters, None, None)
    raise AssertionError("unreachable: the error is raised above")
