"""The statements a service runs for each event or request, run on SQLite's own connection.

A Core statement run through SQLAlchemy's async engine costs about 100 us of SQLAlchemy's own
work (its execution context, parameters built again, a greenlet's switches there and back, a
result's metadata) around 10-20 us in sqlite3: on a referral node that was about a quarter of
the process's CPU. Where the statement would run on the event loop's thread anyway (in a
transaction holding SQLite's write lock, or a read transaction declared short: see
``sqlite_driver``), ``execute`` runs it on the driver's connection itself, with what
SQLAlchemy compiled for it once: its SQL, the order of its parameters, the constants it holds,
and its types' own bind and result processors, so values are written and read exactly as
through SQLAlchemy. Its errors are raised as SQLAlchemy raises them (``IntegrityError``, ...,
the driver's error as ``orig``), and the engine's ``before_cursor_execute`` listeners see it.

Anywhere else (PostgreSQL, a connection that hands its calls to its thread, a statement
whose compiled form depends on more than its parameters' names), it runs through
SQLAlchemy, and the answer has the same shape."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import exc
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.base import Executable

from crocevia_common.sqlite_driver import InlineConnection

Params = Mapping[str, Any]


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
    """A statement compiled for SQLite for parameters of these names."""

    sql: str
    names: tuple[str, ...]  # of the positional parameters, in order
    constants: Mapping[str, Any]  # the values the statement holds itself (and scalar defaults)
    processors: Mapping[str, Callable[[Any], Any]]
    expanding: frozenset[str]  # parameters that take a list (``IN``), spread when run
    columns: tuple[tuple[str, Callable[[Any], Any] | None], ...]  # result keys and processors
    row_values: str | None  # an INSERT's ``(?, ?, ...)``, repeated to insert many rows in one statement


_MARK = "__[POSTCOMPILE_{}]"
_MOST_PLANS = 1024
_MOST_VALUES = 32766  # SQLite's limit on a statement's parameters (since 3.32)
# (the statement's id, its parameters' names) -> (the statement, its plan or None: not run here)
_plans: dict[tuple[int, tuple[str, ...]], tuple[Executable, _Plan | None]] = {}


def _plan_of(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    compiled: Any = cast(ClauseElement, statement).compile(
        dialect=dialect, column_keys=list(keys), for_executemany=True
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
    return _Plan(
        sql=compiled.string,
        names=names,
        constants=constants,
        processors=dict(compiled._bind_processors),
        expanding=frozenset(name for name in names if binds[name].expanding),
        columns=tuple(
            (entry.keyname, entry.type._cached_result_processor(dialect, None)) for entry in compiled._result_columns
        ),
        row_values=f"({many_values.single_values_expr})" if (many_values := compiled._insertmanyvalues) else None,
    )


def _plan(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> _Plan | None:
    key = (id(statement), keys)
    found = _plans.get(key)
    if found is None or found[0] is not statement:
        if len(_plans) >= _MOST_PLANS:  # statements made anew for each call, which ``execute`` is not for
            _plans.clear()
        found = _plans[key] = (statement, _plan_of(statement, dialect, keys))
    return found[1]


def _values(plan: _Plan, params: Params) -> tuple[str, tuple[Any, ...]] | None:
    """The SQL and its positional values for one set of parameters; None when an ``IN``
    list is empty (SQLAlchemy renders that case its own way)."""
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


def _driver(session: AsyncConnection) -> InlineConnection | None:
    """The connection under ``session`` when its statements run on this thread now."""
    if session.dialect.name != "sqlite":
        return None
    sync = session.sync_connection
    if sync is None or sync.closed or sync.invalidated:
        return None
    driver = sync.connection.driver_connection
    if not isinstance(driver, InlineConnection) or not (driver.writing or driver.reading_short):
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
    driver = _driver(session) if simple else None
    if driver is not None:
        keys = tuple(sets[0])
        plan = _plan(statement, session.dialect, keys)
        if plan is not None and all(tuple(p) == keys for p in sets):
            found = _run(session, driver, plan, sets, many)
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
    mapped = [
        {key: process(value) if process else value for (key, process), value in zip(plan.columns, row, strict=True)}
        for row in rows
    ]
    return Rows(mapped, rowcount, (cursor.lastrowid,) if not many and not plan.columns else None)
