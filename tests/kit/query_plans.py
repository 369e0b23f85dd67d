"""The query plans SQLite makes for the statements a piece of code runs: a test that a hot
statement searches by an index (and does not read a whole table) checks the plan itself."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import event

from crocevia_common.db import Database


async def plans_of(db: Database, run: Callable[[], Awaitable[Any]], starting: str) -> list[list[str]]:
    """The plan of each statement ``run`` executes on ``db`` (a SQLite database) whose text
    starts with ``starting`` (case ignored), in order: one line per step (of an executemany,
    the plan for its first row's values)."""
    statements: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, many: bool) -> None:
        if statement.lstrip().upper().startswith(starting.upper()):
            statements.append((statement, parameters[0] if many else parameters))

    event.listen(db.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await run()
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", capture)
    plans = []
    async with db.engine.connect() as conn:
        for statement, parameters in statements:
            plans.append([row[-1] for row in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)])
    return plans
